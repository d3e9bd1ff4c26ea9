import { rest, type TestGateway } from '../helpers/gateway.ts';
import type { TestOrg } from '../helpers/factories.ts';
import { fundedIntent, harborWrite, type HarborActor } from '../helpers/harbor.ts';

/** A funded intent with an open Harbor dispute (opened through Harbor's own route). */
export async function disputedIntent(gw: TestGateway, actor: HarborActor, amountCents = 5000): Promise<string> {
  const { intentId } = await fundedIntent(gw, actor, { amountCents });
  const opened = await harborWrite(gw, actor, `/harbor/operator/v1/intents/${intentId}/dispute/open`, { reason: 'vendor never delivered' });
  if (opened.status !== 200) throw new Error(`dispute open: ${opened.status} ${JSON.stringify(opened.body)}`);
  return intentId;
}

/** Create a case as the org's sandbox admin; returns the REST body. */
export async function newCase(gw: TestGateway, org: TestOrg, body: Record<string, unknown> = {}) {
  const res = await rest(gw, 'POST', '/v1/disputes/cases', { title: 'Vendor did not deliver', reason: 'No booking confirmation', ...body }, { token: org.admin.token.sandbox });
  if (res.status !== 201) throw new Error(`create case: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export const casePath = (caseId: string, rest = '') => `/v1/disputes/cases/${caseId}${rest}`;
