import { expect } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { createTestGateway, rest, type RestResult, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { harborActor, harborWrite, signedEvidence, signedIntentBody, type HarborActor } from '../helpers/harbor.ts';

/** A gateway on a manual clock (starting now) with one organization acting through Harbor. */
export async function signalGateway(): Promise<{ gw: TestGateway; clock: ManualClock; org: TestOrg; actor: HarborActor }> {
  const clock = new ManualClock(Date.now());
  const gw = await createTestGateway({ clock });
  const org = await createOrg(gw);
  const actor = await harborActor(gw, org);
  return { gw, clock, org, actor };
}

export const enc = (did: string) => encodeURIComponent(did);

/** A Harbor write one second after the previous one, with a recognition proof issued at that time. */
export function write(gw: TestGateway, actor: HarborActor, path: string, body: unknown = {}, options: { idempotencyKey?: string } = {}): Promise<RestResult> {
  (gw.clock as ManualClock).advance(1);
  const now = gw.clock.now().getTime();
  return harborWrite(gw, actor, path, body, { proof: { issuedAtMs: now - 60_000 }, ...options });
}

export interface Lifecycle {
  payeeDid: string;
  amountCents?: number;
  /** Evidence passes the predicate (release) or not (refund). Default pass. */
  pass?: boolean;
  /** Stop after this step. */
  until?: 'created' | 'funded' | 'evidence' | 'settled';
}

/** Drive one intent through Harbor: create, fund, evidence, confirm. Returns its id. */
export async function runIntent(gw: TestGateway, actor: HarborActor, life: Lifecycle): Promise<string> {
  const created = await write(gw, actor, '/harbor/intents', signedIntentBody(actor, { payeeDid: life.payeeDid, amountCents: life.amountCents ?? 5000 }));
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const intentId = created.body.intent_id as string;
  if (life.until === 'created') return intentId;
  expect((await write(gw, actor, `/harbor/intents/${intentId}/fund`)).status).toBe(200);
  if (life.until === 'funded') return intentId;
  const status = life.pass === false ? 'failed' : 'completed';
  const evidence = await write(gw, actor, `/harbor/intents/${intentId}/evidence`, signedEvidence(actor, intentId, { status }, [], life.payeeDid));
  expect(evidence.status, JSON.stringify(evidence.body)).toBe(200);
  if (life.until === 'evidence') return intentId;
  const settle = await write(gw, actor, `/harbor/intents/${intentId}/settlement/confirm`);
  expect(settle.status, JSON.stringify(settle.body)).toBe(200);
  return intentId;
}

export const disputeOpen = (gw: TestGateway, actor: HarborActor, intentId: string) =>
  write(gw, actor, `/harbor/operator/v1/intents/${intentId}/dispute/open`, { reason: 'not delivered' });
export const disputeResolve = (gw: TestGateway, actor: HarborActor, intentId: string, outcome: 'release' | 'refund' | 'split') =>
  write(gw, actor, `/harbor/operator/v1/intents/${intentId}/dispute/resolve`, { outcome, rationale: 'reviewed the evidence' });

/** A review event one second after the previous write (admin session unless another token is given). */
export function review(gw: TestGateway, org: TestOrg, did: string, body: Record<string, unknown>, token = org.admin.token.sandbox, headers: Record<string, string> = {}) {
  (gw.clock as ManualClock).advance(1);
  return rest(gw, 'POST', `/signal/v1/operators/${enc(did)}/review-events`, body, { token, headers });
}

/** GET with the sandbox API key (what the SDK's Signal clients send: accept + bearer only). */
export const get = (gw: TestGateway, org: TestOrg, path: string, token = org.apiKey.sandbox) => rest(gw, 'GET', path, undefined, { token });
