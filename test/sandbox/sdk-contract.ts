import { expect } from 'vitest';

/**
 * What the Paybond Kit SDK's response parsers require (facts of its wire contract): a body
 * without one of these makes the SDK throw. Checked on every answer the sandbox tests get.
 */
type Body = Record<string, unknown>;

const nonEmptyString = (body: Body, field: string) => expect(typeof body[field] === 'string' && (body[field] as string).trim() !== '', `${field}: ${JSON.stringify(body[field])}`).toBe(true);
const finiteNumber = (body: Body, field: string) => expect(typeof body[field] === 'number' && Number.isFinite(body[field]), `${field}: ${JSON.stringify(body[field])}`).toBe(true);
const optionalString = (body: Body, field: string) => expect(body[field] === undefined || body[field] === null || typeof body[field] === 'string', field).toBe(true);

export function sdkBootstrap(body: Body, tenantId: string) {
  for (const field of ['tenant_id', 'intent_id', 'capability_token', 'operation', 'sandbox_lifecycle_status']) nonEmptyString(body, field);
  finiteNumber(body, 'requested_spend_cents');
  expect(body.tenant_id, 'sandbox guardrail tenant mismatch').toBe(tenantId);
  for (const field of ['currency', 'settlement_rail', 'settlement_mode']) optionalString(body, field);
  return body as { tenant_id: string; intent_id: string; capability_token: string; operation: string; requested_spend_cents: number; sandbox_lifecycle_status: string } & Body;
}

export function sdkEvidence(body: Body, tenantId: string, intentId: string) {
  for (const field of ['tenant_id', 'intent_id', 'operation', 'sandbox_lifecycle_status']) nonEmptyString(body, field);
  finiteNumber(body, 'requested_spend_cents');
  expect(body.tenant_id, 'sandbox guardrail tenant mismatch').toBe(tenantId);
  expect(body.intent_id, 'sandbox guardrail intent mismatch').toBe(intentId);
  expect(body.predicate_passed === null || typeof body.predicate_passed === 'boolean').toBe(true);
  const report = body.schema_validation as Body;
  // The SDK reads the report only when both flags are booleans.
  expect(typeof report.vendor_schema_ok).toBe('boolean');
  expect(typeof report.canonical_schema_ok).toBe('boolean');
  // Agent Receipts accept only 64 lowercase hex digests.
  expect(body.payload_digest).toMatch(/^[0-9a-f]{64}$/);
  expect(body.artifacts_digest).toMatch(/^[0-9a-f]{64}$/);
  return body as { predicate_passed: boolean | null; sandbox_lifecycle_status: string; schema_validation: Body } & Body;
}

export function sdkVerify(body: Body, tenantId: string, intentId: string) {
  expect(body.tenant).toBe(tenantId);
  expect(body.intent_id).toBe(intentId);
  expect(typeof body.allow).toBe('boolean');
  return body as { allow: boolean; decision_id?: string | null; code?: string | null } & Body;
}
