import './errors.ts';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import type { HarborIntent, SimulatorEvent } from '../../generated/prisma/client.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import { materialize } from '../../kernel/policy-templates.ts';
import type { HarborCtx } from '../harbor/gate.ts';
import { amountCents, checkSignedIntent, currency, MAX_AMOUNT_CENTS, type IntentCreateInput } from '../harbor/intents.ts';
import { fundIntent, submitEvidence, type FundResult } from '../harbor/lifecycle.ts';
import { evidenceSignBytes, intentSignBytesV6 } from '../harbor/wire.ts';
import { railAllowed } from '../settlement/config-rules.ts';
import { activeConfigRow, SDK_RAILS } from '../settlement/config.ts';
import { refuseLiveMaterial, refuseTenantFields, sentBody } from './guard.ts';
import { sandboxKey } from './keys.ts';
import { checkEvidence, PRESETS, type CompletionPreset, type EvidenceCheck } from './presets.ts';
import { insertSimulatorEvent, type SandboxCtx } from './simulator-events.ts';

/**
 * Sandbox guardrails: the first-integration path of the Paybond Kit SDK. Bootstrap makes a
 * funded Harbor intent for one paid-tool operation, signed by a gateway-held principal key of the
 * sandbox tenant and created and funded through Harbor's own code (settlement rule, guardrails,
 * ledger, audit); its capability token authorises the SDK's spend checks. Evidence is evaluated
 * against the intent's predicate after every tool call; it never settles (the next call's spend
 * check must still pass), settlement is rehearsed with the simulator.
 */

const jsonObject = z.record(z.string(), z.unknown());
const HOURS_24 = 24 * 3600_000;

export const bootstrapInput = z.object({
  operation: z.string().trim().min(1).max(200).describe('The paid tool operation to guard; the intent’s only allowed tool.'),
  requestedSpendCents: amountCents.describe('Spend ceiling of the intent, in integer cents (at least 1).'),
  currency: currency.optional().describe('Currency code (default usd).'),
  evidenceSchema: jsonObject.optional().describe('JSON schema of the evidence (without completion_preset; default: any object).'),
  metadata: jsonObject.optional().describe('Free-form caller metadata (not stored beyond the audit trail).'),
  completionPreset: z.string().min(1).max(128).optional().describe('A completion preset id (e.g. api_response_ok, stripe_charge): template, parameters and evidence schema come from it.'),
  templateId: z.string().min(1).max(128).optional().describe('A managed-policy template id (without completion_preset; default true_v1).'),
  parameters: jsonObject.optional().describe('The template’s parameters.'),
});
export type BootstrapInput = z.infer<typeof bootstrapInput>;

export const sandboxEvidenceInput = z.object({
  payload: jsonObject.optional().describe('Canonical evidence the predicate is evaluated against.'),
  vendorPayload: jsonObject.optional().describe('The vendor’s raw response (vendor-pack presets map it to canonical fields when payload is absent, and check it).'),
  artifacts: z
    .array(z.string().regex(/^([0-9a-f]{2})+$/i, 'artifact hashes are hex'))
    .max(100)
    .default([])
    .describe('Hex digests of artifacts the evidence refers to.'),
  operation: z.string().trim().min(1).max(200).optional().describe('The tool operation that ran (echoed).'),
  requestedSpendCents: z.number().int().min(0).max(MAX_AMOUNT_CENTS).optional().describe('The spend of that call, in cents (echoed).'),
  metadata: jsonObject.optional().describe('Free-form caller metadata (tool_name, tool_call_id, decision_id…).'),
});
export type SandboxEvidenceInput = z.infer<typeof sandboxEvidenceInput>;

export interface BootstrapResult {
  intent: HarborIntent;
  capabilityToken: string;
  operation: string;
  requestedSpendCents: number;
  simulatorEvent: SimulatorEvent;
}

export interface SandboxEvidenceResult {
  intent: HarborIntent;
  operation: string;
  requestedSpendCents: number;
  predicatePassed: boolean;
  payloadDigest: string;
  artifactsDigest: string;
  check: EvidenceCheck;
}

/** The simulator answers a payment challenge (x402, MPP) with a credential it made up: no money moves. */
const SIMULATED_PAYMENT = { paymentSignature: 'paybond-sandbox-simulator', paymentAuthorization: 'Payment paybond-sandbox-simulator' };

const harborCtx = (ctx: SandboxCtx): HarborCtx => ({ ...ctx, binding: ctx.http });

async function checkRequest(ctx: SandboxCtx, input: unknown): Promise<void> {
  const body = sentBody(ctx.http, input);
  refuseTenantFields(ctx.http, body);
  await refuseLiveMaterial(ctx.runtime, ctx.principal, body);
}

/** Template, parameters and evidence schema: from the preset, or from the body (template_id + parameters). */
function terms(input: BootstrapInput): { preset: CompletionPreset | null; templateId: string; parameters: unknown; evidenceSchema: Record<string, unknown> } {
  if (!input.completionPreset) {
    return { preset: null, templateId: input.templateId ?? 'true_v1', parameters: input.parameters ?? {}, evidenceSchema: input.evidenceSchema ?? {} };
  }
  if (input.evidenceSchema) throw new DomainError('invalid_request', 'Send either completion_preset or evidence_schema: the preset defines the evidence schema', { field: ['evidenceSchema'] });
  if (input.templateId || input.parameters) {
    throw new DomainError('invalid_request', 'Send either completion_preset or template_id with parameters: the preset names its template', { field: ['templateId'] });
  }
  const preset = PRESETS.get(input.completionPreset);
  if (!preset) throw new DomainError('completion_preset_unknown', `Unknown completion_preset ${input.completionPreset}`, { field: ['completionPreset'] });
  return { preset, templateId: preset.harbor_template_id, parameters: preset.parameters, evidenceSchema: preset.evidence_schema };
}

/** The preset's first hinted rail the tenant allows, else the configured default, else stripe_connect, else any allowed rail. */
async function chooseRail(ctx: SandboxCtx, preset: CompletionPreset | null): Promise<string> {
  const config = await activeConfigRow(ctx.runtime.db, ctx.principal.tenantId);
  const allowed = (rail: string) => railAllowed(rail, config ? { allowed_rails: config.allowedRails as never } : null, 'sandbox');
  const candidates = [...(preset?.rail_hints ?? []), ...(config?.defaultRail ? [config.defaultRail] : []), 'stripe_connect', ...SDK_RAILS];
  const rail = candidates.find(allowed);
  if (!rail) throw new DomainError('settlement_rail_not_allowed', 'The sandbox settlement configuration allows no rail', { details: { allowed_rails: config?.allowedRails ?? [] } });
  return rail;
}

export async function bootstrapGuardrail(ctx: SandboxCtx, input: BootstrapInput, idempotencyKey: string | null): Promise<BootstrapResult> {
  await checkRequest(ctx, input);
  const { preset, templateId, parameters, evidenceSchema } = terms(input);
  const { predicate } = materialize(templateId, parameters);
  const rail = await chooseRail(ctx, preset);
  const { tenantId } = ctx.principal;
  const principal = sandboxKey(ctx.runtime, tenantId, 'principal');
  const payee = sandboxKey(ctx.runtime, tenantId, 'payee');
  const create: IntentCreateInput = {
    intentId: randomUUID(),
    principalDid: principal.did,
    principalPubkey: principal.publicKeyBase64,
    principalSignature: '',
    payeeDid: payee.did,
    payeePubkey: payee.publicKeyBase64,
    budget: { max: input.requestedSpendCents, operation: input.operation },
    currency: input.currency ?? 'usd',
    amountCents: input.requestedSpendCents,
    evidenceSchema,
    deadline: new Date(ctx.runtime.clock.now().getTime() + HOURS_24).toISOString(),
    predicateDsl: predicate as Record<string, unknown>,
    settlementRail: rail as IntentCreateInput['settlementRail'],
    signingVersion: 6,
    policyBinding: null,
    allowedTools: [input.operation],
    predicateRef: null,
    completionPresetId: preset?.preset_id ?? null,
  };
  create.principalSignature = principal.sign(
    intentSignBytesV6(tenantId, {
      ...create,
      predicate: create.predicateDsl,
      predicateRef: '',
      payeePubkey: payee.publicKey,
    }),
  );
  const hctx = harborCtx(ctx);
  const insert = await checkSignedIntent(hctx, create, { idempotencyKey, templateId });
  return ctx.runtime.db.$transaction(async (tx) => {
    const created = await insert(tx);
    // Card-like rails fund at once; ACH is pending first, then funded (two ledger events).
    let funded: FundResult = await fundIntent(hctx, created.intentId, SIMULATED_PAYMENT, { skipGate: true, tx, intent: created });
    const steps = funded.funded ? ['fund_succeeded'] : ['fund_started', 'fund_succeeded'];
    if (!funded.funded) funded = await fundIntent(hctx, created.intentId, SIMULATED_PAYMENT, { skipGate: true, tx, intent: funded.intent });
    if (!funded.funded || !funded.capabilityToken) throw new Error(`the simulator did not fund a ${rail} intent`);
    await tx.sandboxGuardrailIntent.create({
      data: {
        id: newId('sgi'),
        tenantId,
        intentId: created.intentId,
        operation: input.operation,
        requestedSpendCents: input.requestedSpendCents,
        completionPresetId: preset?.preset_id ?? null,
        templateId,
        createdBy: ctx.principal.subjectId,
        createdAt: ctx.runtime.clock.now(),
      },
    });
    const simulatorEvent = await insertSimulatorEvent(tx, ctx, {
      intentId: created.intentId,
      kind: 'funding_succeeded',
      sequence: 1,
      settlementRail: rail,
      fromState: created.state,
      toState: funded.intent.state,
      steps,
    });
    return { intent: funded.intent, capabilityToken: funded.capabilityToken, operation: input.operation, requestedSpendCents: input.requestedSpendCents, simulatorEvent };
  });
}

/**
 * Evidence for a bootstrap intent: checked against its preset (schema drift, quality fields,
 * forbidden funding artefacts), then recorded through Harbor's evidence path, signed with the
 * tenant's gateway-held payee key. Forbidden fields make the evidence fail its schema, so the
 * predicate does not pass.
 */
export async function submitGuardrailEvidence(ctx: SandboxCtx, rawIntentId: string, input: SandboxEvidenceInput): Promise<SandboxEvidenceResult> {
  await checkRequest(ctx, input);
  const { tenantId } = ctx.principal;
  const intentId = rawIntentId.toLowerCase();
  const guardrail = await ctx.runtime.db.sandboxGuardrailIntent.findUnique({ where: { tenantId_intentId: { tenantId, intentId } } });
  const intent = guardrail ? await ctx.runtime.db.harborIntent.findUnique({ where: { tenantId_intentId: { tenantId, intentId } } }) : null;
  if (!guardrail || !intent) throw notFound('Sandbox guardrail intent');
  const preset = guardrail.completionPresetId ? (PRESETS.get(guardrail.completionPresetId) ?? null) : null;
  const check = checkEvidence(preset, intent.evidenceSchema, input);
  const payee = sandboxKey(ctx.runtime, tenantId, 'payee');
  const submittedAt = ctx.runtime.clock.now().toISOString();
  const payeeSignature = payee.sign(evidenceSignBytes(tenantId, { intentId, payeeDid: payee.did, payload: check.payload, artifacts: input.artifacts, submittedAt }));
  const result = await submitEvidence(
    harborCtx(ctx),
    intentId,
    { payload: check.payload, artifacts: input.artifacts, payeeDid: payee.did, payeePubkey: payee.publicKeyBase64, payeeSignature, submittedAt },
    { skipGate: true, schemaValid: check.canonicalSchemaOk },
  );
  return {
    intent: result.intent,
    operation: input.operation ?? guardrail.operation,
    requestedSpendCents: input.requestedSpendCents ?? guardrail.requestedSpendCents,
    predicatePassed: result.predicatePassed,
    payloadDigest: result.payloadDigest,
    artifactsDigest: result.artifactsDigest,
    check,
  };
}
