import { createHash, randomUUID } from 'node:crypto';
import { ed } from '../../src/crypto/ed25519.ts';
import { evidenceSignBytes, intentSignBytesV6, recognitionCanonical, type RecognitionProof } from '../../src/areas/harbor/wire.ts';
import { rest, type CallOptions, type RestResult, type TestGateway } from './gateway.ts';
import { enableAgentMode, keypair, registrationSignature, type AgentKeypair } from './agent.ts';
import type { TestOrg } from './factories.ts';
import type { Environment } from '../../src/context.ts';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export interface HarborActor {
  org: TestOrg;
  env: Environment;
  tenantId: string;
  token: string;
  recognition: AgentKeypair;
  keyId: string;
  principal: AgentKeypair;
  payee: AgentKeypair;
}

/** Mode on, a trusted recognition key registered, and the sandbox API key as the caller (like the SDK). */
export async function harborActor(gw: TestGateway, org: TestOrg, env: Environment = 'sandbox'): Promise<HarborActor> {
  await enableAgentMode(gw, org, env);
  const recognition = keypair();
  const keyId = `kid-${randomUUID().slice(0, 8)}`;
  const res = await rest(gw, 'POST', '/v1/admin/protocol/agent-keys', { key_id: keyId, public_key: recognition.base58, registration_signature: registrationSignature(recognition, org.tenants[env], keyId) }, { token: org.admin.token[env] });
  if (res.status !== 201) throw new Error(`register key: ${res.status} ${JSON.stringify(res.body)}`);
  return { org, env, tenantId: org.tenants[env], token: org.apiKey[env], recognition, keyId, principal: keypair(), payee: keypair() };
}

export interface ProofOptions {
  purpose?: string;
  issuedAtMs?: number;
  lifetimeSeconds?: number;
  nonce?: string;
  tenantId?: string;
  method?: string;
  path?: string;
  bodyDigest?: string;
  key?: AgentKeypair;
  keyId?: string;
}

/** AgentRecognitionProofV1 over the exact body bytes, as base64url header value. */
export function recognitionProof(actor: HarborActor, method: string, path: string, body: string, options: ProofOptions = {}): string {
  const issued = options.issuedAtMs ?? Date.now() - 60_000;
  const unsigned = {
    schema_version: 1 as const,
    kind: 'paybond.agent_recognition_proof_v1' as const,
    key_id: options.keyId ?? actor.keyId,
    signature_algorithm: 'ed25519-sha256-json-v1' as const,
    issued_at: rfc3339(issued),
    expires_at: rfc3339(issued + (options.lifetimeSeconds ?? 240) * 1000),
    nonce: options.nonce ?? randomUUID(),
    purpose: options.purpose ?? purposeFor(path),
    verifier_context: { tenant_id: options.tenantId ?? actor.tenantId, verifier_id: 'paybond-gateway' },
    request_envelope: { method: options.method ?? method, path: options.path ?? path, body_digest_sha256_hex: options.bodyDigest ?? sha256Hex(body) },
  };
  const digest = createHash('sha256').update(recognitionCanonical(unsigned as RecognitionProof)).digest();
  const key = options.key ?? actor.recognition;
  const proof = {
    ...unsigned,
    message_digest_sha256_hex: digest.toString('hex'),
    signing_public_key_ed25519_hex: Buffer.from(key.publicKey).toString('hex'),
    ed25519_signature_hex: Buffer.from(ed.sign(digest, key.secretKey)).toString('hex'),
  };
  return Buffer.from(JSON.stringify(proof)).toString('base64url');
}

export function purposeFor(path: string): string {
  if (path === '/harbor/intents') return 'harbor.intent.create';
  if (path.endsWith('/fund')) return 'harbor.intent.fund';
  if (path.endsWith('/evidence')) return 'harbor.intent.evidence.submit';
  if (path.endsWith('/settlement/confirm')) return 'harbor.intent.settlement.confirm';
  if (path.endsWith('/dispute/open')) return 'harbor.intent.dispute.open';
  if (path.endsWith('/dispute/resolve')) return 'harbor.intent.dispute.resolve';
  return 'unknown';
}

/** A Harbor write the way the SDK sends it: exact bytes, proof over them, x-tenant-id. */
export function harborWrite<T = any>(
  gw: TestGateway,
  actor: HarborActor,
  path: string,
  body: unknown = {},
  options: CallOptions & { proof?: ProofOptions | false; idempotencyKey?: string } = {},
): Promise<RestResult<T>> {
  const raw = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-tenant-id': actor.tenantId, ...options.headers };
  if (options.proof !== false) headers['x-paybond-agent-recognition-proof'] = recognitionProof(actor, 'POST', path, raw, options.proof ?? {});
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  return rest<T>(gw, 'POST', path, undefined, { token: options.token ?? actor.token, headers, raw });
}

export interface IntentTerms {
  intentId?: string;
  amountCents?: number;
  currency?: string;
  settlementRail?: string;
  predicate?: unknown;
  evidenceSchema?: unknown;
  budget?: Record<string, unknown>;
  allowedTools?: string[];
  deadline?: string;
  signForTenant?: string;
  payeeDid?: string;
}

/** The principal-signed create body, field order as the SDK emits it (signing_version 6). */
export function signedIntentBody(actor: HarborActor, terms: IntentTerms = {}) {
  const body = {
    intent_id: terms.intentId ?? randomUUID(),
    principal_did: 'did:example:principal',
    principal_pubkey: b64(actor.principal.publicKey),
    principal_signature: '',
    payee_did: terms.payeeDid ?? 'did:example:payee',
    payee_pubkey: b64(actor.payee.publicKey),
    budget: terms.budget ?? { max: terms.amountCents ?? 5000 },
    currency: terms.currency ?? 'usd',
    amount_cents: terms.amountCents ?? 5000,
    evidence_schema: terms.evidenceSchema ?? { type: 'object', required: ['status'], properties: { status: { type: 'string' }, cost_cents: { type: 'integer' } } },
    deadline: terms.deadline ?? '2031-01-01T00:00:00Z',
    predicate_dsl: terms.predicate ?? { version: 1, root: { op: 'eq', path: ['status'], value: 'completed' } },
    settlement_rail: terms.settlementRail ?? 'stripe_connect',
    signing_version: 6,
    policy_binding: null,
    allowed_tools: terms.allowedTools ?? ['vendor.lookup', 'Vendor.Book'],
  };
  const bytes = intentSignBytesV6(terms.signForTenant ?? actor.tenantId, {
    intentId: body.intent_id,
    principalDid: body.principal_did,
    payeeDid: body.payee_did,
    amountCents: body.amount_cents,
    currency: body.currency,
    deadline: body.deadline,
    budget: body.budget,
    evidenceSchema: body.evidence_schema,
    predicate: body.predicate_dsl,
    predicateRef: '',
    allowedTools: body.allowed_tools,
    settlementRail: body.settlement_rail,
    payeePubkey: actor.payee.publicKey,
  });
  body.principal_signature = b64(ed.sign(bytes, actor.principal.secretKey));
  return body;
}

/** Payee-signed evidence body (EvidenceSignV1). */
export function signedEvidence(actor: HarborActor, intentId: string, payload: Record<string, unknown>, artifacts: string[] = [], payeeDid = 'did:example:payee') {
  const submittedAt = rfc3339(Date.now());
  const bytes = evidenceSignBytes(actor.tenantId, { intentId, payeeDid, payload, artifacts, submittedAt });
  return {
    payload,
    artifacts,
    payee_did: payeeDid,
    payee_pubkey: b64(actor.payee.publicKey),
    payee_signature: b64(ed.sign(bytes, actor.payee.secretKey)),
    submitted_at: submittedAt,
  };
}

/** Create (and optionally fund) an intent; returns the REST bodies. */
export async function createIntent(gw: TestGateway, actor: HarborActor, terms: IntentTerms = {}) {
  const res = await harborWrite(gw, actor, '/harbor/intents', signedIntentBody(actor, terms));
  if (res.status !== 201) throw new Error(`create intent: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { intent_id: string; state: string };
}

export async function fundedIntent(gw: TestGateway, actor: HarborActor, terms: IntentTerms = {}) {
  const intent = await createIntent(gw, actor, terms);
  const fund = await harborWrite(gw, actor, `/harbor/intents/${intent.intent_id}/fund`, {});
  if (fund.status !== 200) throw new Error(`fund: ${fund.status} ${JSON.stringify(fund.body)}`);
  return { intentId: intent.intent_id, capabilityToken: fund.body.capability_token as string };
}
