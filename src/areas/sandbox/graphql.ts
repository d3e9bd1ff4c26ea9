import type { z } from 'zod';
import { builder } from '../../graphql/builder.ts';
import { authed, policy, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { enumFromZod, inputFromZod } from '../../graphql/inputs.ts';
import type { RequestContext } from '../../context.ts';
import type { HarborIntent } from '../../generated/prisma/client.ts';
import { IDEMPOTENCY_HEADER } from '../../kernel/http/headers.ts';
import type { FieldPolicy } from '../../kernel/policy.ts';
import { HarborIntentType } from '../harbor/graphql.ts';
import { settlementRail } from '../harbor/rails.ts';
import { bootstrapGuardrail, bootstrapInput, sandboxEvidenceInput, submitGuardrailEvidence, type BootstrapResult, type SandboxEvidenceResult } from './guardrails.ts';
import type { EvidenceCheck } from './presets.ts';
import { recordSimulatorEvent, simulatorEventInput, simulatorEventType, type SandboxCtx, type SimulatorEventResult } from './simulator-events.ts';

export const AREA = 'sandbox' as const;

/** Sandbox writes move simulated money through Harbor intents: Harbor writers of a sandbox tenant. */
const SANDBOX_WRITER: FieldPolicy = { principals: ['user', 'api_key', 'harbor', 'agent'], scope: 'harbor:write', sandboxOnly: true, rateLimit: 'harbor_intent_mutation' };
/** The SDK's first-integration path: a sandbox service-account API key. */
const SANDBOX_API_KEY: FieldPolicy = { principals: ['api_key'], scope: 'harbor:write', sandboxOnly: true, rateLimit: 'harbor_intent_mutation' };

const sandboxCtx = (ctx: RequestContext): SandboxCtx => ({ ...authed(ctx), http: ctx.http });

const SimulatorEventTypeEnum = enumFromZod(simulatorEventType);
const SettlementRailEnum = enumFromZod(settlementRail);
type Rail = z.infer<typeof settlementRail>;

const SimulatorEventNode = builder.prismaNode('SimulatorEvent', {
  description: 'A recorded sandbox simulator event (simulated: no provider was called, no money moved).',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    eventId: t.exposeString('id', { description: 'Event id.' }),
    eventType: t.field({ type: SimulatorEventTypeEnum, description: 'What was simulated.', resolve: (e) => e.kind as z.infer<typeof simulatorEventType> }),
    idempotencyKey: t.exposeString('idempotencyKey', { description: 'sim_ + SHA-256 of tenant, intent, event type and sequence: the same event always has the same key.' }),
    sequence: t.exposeInt('sequence', { description: 'Occurrence of this event type for the intent.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant (from the credential).' }),
    environment: t.string({ description: 'Always sandbox.', resolve: () => 'sandbox' }),
    livemode: t.boolean({ description: 'Always false.', resolve: () => false }),
    intentId: t.exposeString('intentId', { nullable: true, description: 'The intent it moved (null for a rehearsal without one).' }),
    settlementRail: t.field({ type: SettlementRailEnum, nullable: true, description: 'The rail rehearsed.', resolve: (e) => e.settlementRail as Rail | null }),
    fromState: t.exposeString('fromState', { nullable: true, description: 'Intent state before.' }),
    toState: t.exposeString('toState', { nullable: true, description: 'Intent state after.' }),
    steps: t.exposeStringList('steps', { description: 'State-machine steps applied, in order (each wrote a ledger and an audit event).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was recorded.' }),
  }),
});

const SimulatorPayload = builder.objectRef<Partial<SimulatorEventResult> & { userErrors: UserErrorShape[] }>('SandboxSimulatorEventPayload').implement({
  description: 'A simulator event and the intent after it.',
  fields: (t) => ({
    event: t.field({ type: SimulatorEventNode, nullable: true, description: 'The event (the stored one when replayed).', resolve: (p) => p.event ?? null }),
    intent: t.field({ type: HarborIntentType, nullable: true, description: 'The intent now.', resolve: (p) => p.intent ?? null }),
    replayed: t.boolean({ nullable: true, description: 'True when this event was recorded before: nothing was written again (REST 200 instead of 201).', resolve: (p) => p.replayed ?? null }),
    userErrors: userErrorsField(t),
  }),
});

type Bootstrap = Partial<BootstrapResult> & { userErrors: UserErrorShape[] };
const intentOf = (p: { intent?: HarborIntent }) => p.intent;

const BootstrapPayload = builder.objectRef<Bootstrap>('SandboxGuardrailBootstrapPayload').implement({
  description: 'A funded sandbox guardrail intent and its capability token (the fields the Paybond Kit SDK reads).',
  fields: (t) => ({
    tenantId: t.string({ nullable: true, description: 'Tenant of the API key.', resolve: (p) => intentOf(p)?.tenantId ?? null }),
    intentId: t.string({ nullable: true, description: 'The intent’s UUID.', resolve: (p) => intentOf(p)?.intentId ?? null }),
    intent: t.field({ type: HarborIntentType, nullable: true, description: 'The intent.', resolve: (p) => p.intent ?? null }),
    capabilityToken: t.string({
      // Replayed with its Idempotency-Key (the SDK needs the token in every answer): a sandbox
      // token authorises simulated spend on one intent only.
      extensions: { secret: false },
      nullable: true,
      description: 'Capability token for /verify (spendGuard) under this intent; scoped to its operation and ceiling.',
      resolve: (p) => p.capabilityToken ?? null,
    }),
    operation: t.string({ nullable: true, description: 'The guarded operation.', resolve: (p) => p.operation ?? null }),
    requestedSpendCents: t.int({ nullable: true, description: 'The spend ceiling, in cents.', resolve: (p) => p.requestedSpendCents ?? null }),
    sandboxLifecycleStatus: t.string({ nullable: true, description: 'The intent’s state (funded).', resolve: (p) => intentOf(p)?.state ?? null }),
    currency: t.string({ nullable: true, description: 'Currency code.', resolve: (p) => intentOf(p)?.currency ?? null }),
    settlementRail: t.field({ type: SettlementRailEnum, nullable: true, description: 'The simulated rail.', resolve: (p) => (intentOf(p)?.settlementRail ?? null) as Rail | null }),
    settlementMode: t.string({ nullable: true, description: 'Always simulated.', resolve: (p) => intentOf(p)?.settlementMode ?? null }),
    simulatorEvent: t.field({ type: SimulatorEventNode, nullable: true, description: 'The simulated funding.', resolve: (p) => p.simulatorEvent ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const SchemaValidationType = builder.objectRef<EvidenceCheck>('SandboxEvidenceSchemaValidation').implement({
  description: 'How sandbox evidence matched its completion preset.',
  fields: (t) => ({
    vendorSchemaOk: t.exposeBoolean('vendorSchemaOk', { description: 'The vendor payload matches the vendor pack’s schema (true without a vendor pack).' }),
    canonicalSchemaOk: t.exposeBoolean('canonicalSchemaOk', { description: 'The canonical payload matches the evidence schema and carries no forbidden field.' }),
    qualityFieldsMissing: t.exposeStringList('qualityFieldsMissing', { description: 'Quality fields of the vendor contract that are absent or null.' }),
    packStale: t.exposeBoolean('packStale', { description: 'The intent’s pinned vendor contract differs from the catalog (never: the catalog ships with the gateway).' }),
    driftKinds: t.exposeStringList('driftKinds', { description: 'missing_field, type_mismatch, quality_field_missing, forbidden_field_present.' }),
    forbiddenFieldsPresent: t.exposeStringList('forbiddenFieldsPresent', { description: 'Funding artefacts sent as evidence (e.g. payment_intent_id).' }),
  }),
});

type Evidence = Partial<SandboxEvidenceResult> & { userErrors: UserErrorShape[] };

const EvidencePayload = builder.objectRef<Evidence>('SandboxGuardrailEvidencePayload').implement({
  description: 'The evaluation of sandbox evidence (the fields the Paybond Kit SDK reads).',
  fields: (t) => ({
    tenantId: t.string({ nullable: true, description: 'Tenant of the API key.', resolve: (p) => intentOf(p)?.tenantId ?? null }),
    intentId: t.string({ nullable: true, description: 'The intent’s UUID.', resolve: (p) => intentOf(p)?.intentId ?? null }),
    intent: t.field({ type: HarborIntentType, nullable: true, description: 'The intent after the evidence.', resolve: (p) => p.intent ?? null }),
    operation: t.string({ nullable: true, description: 'The operation (as sent, else the bootstrap’s).', resolve: (p) => p.operation ?? null }),
    requestedSpendCents: t.int({ nullable: true, description: 'The spend (as sent, else the bootstrap ceiling).', resolve: (p) => p.requestedSpendCents ?? null }),
    sandboxLifecycleStatus: t.string({ nullable: true, description: 'The intent’s state (evidence_submitted: evidence never settles).', resolve: (p) => intentOf(p)?.state ?? null }),
    settlementRail: t.field({ type: SettlementRailEnum, nullable: true, description: 'The simulated rail.', resolve: (p) => (intentOf(p)?.settlementRail ?? null) as Rail | null }),
    settlementMode: t.string({ nullable: true, description: 'Always simulated.', resolve: (p) => intentOf(p)?.settlementMode ?? null }),
    predicatePassed: t.boolean({ nullable: true, description: 'Whether the intent’s predicate held for this evidence.', resolve: (p) => p.predicatePassed ?? null }),
    payloadDigest: t.string({ nullable: true, description: 'Hex BLAKE3 digest of the canonical (JCS) payload.', resolve: (p) => p.payloadDigest ?? null }),
    artifactsDigest: t.string({ nullable: true, description: 'Hex digest of the artifact list.', resolve: (p) => p.artifactsDigest ?? null }),
    schemaValidation: t.field({ type: SchemaValidationType, nullable: true, description: 'Schema checks and drift.', resolve: (p) => p.check ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const SimulatorEventInput = inputFromZod('SandboxSimulatorEventInput', simulatorEventInput, 'A simulator event to record.');
const BootstrapInput = inputFromZod('SandboxGuardrailBootstrapInput', bootstrapInput, 'The paid-tool operation to guard.');
const EvidenceInput = inputFromZod('SandboxGuardrailEvidenceInput', sandboxEvidenceInput, 'Evidence of one guarded tool call.');

builder.mutationFields((t) => ({
  sandboxSimulatorEventCreate: t.field({
    ...policy(SANDBOX_WRITER),
    type: SimulatorPayload,
    description: 'Record a sandbox simulator event (funding, release, refund, void, dispute, webhook rehearsal) through the real state machine; written once per idempotency key.',
    args: { input: t.arg({ type: SimulatorEventInput, required: true, description: 'The event.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(() => recordSimulatorEvent(sandboxCtx(ctx), input)),
  }),
  sandboxGuardrailBootstrap: t.field({
    ...policy(SANDBOX_API_KEY),
    type: BootstrapPayload,
    description: 'Create and fund a sandbox guardrail intent for one paid-tool operation; returns the capability token for spend checks.',
    args: { input: t.arg({ type: BootstrapInput, required: true, description: 'The operation, ceiling and completion terms.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(() => bootstrapGuardrail(sandboxCtx(ctx), input, ctx.http.headers.get(IDEMPOTENCY_HEADER))),
  }),
  sandboxGuardrailEvidenceSubmit: t.field({
    ...policy(SANDBOX_API_KEY),
    type: EvidencePayload,
    description: 'Submit evidence of a guarded tool call for a bootstrap intent; the predicate is evaluated, nothing settles.',
    args: {
      intentId: t.arg.string({ required: true, description: 'The bootstrap intent’s UUID.' }),
      input: t.arg({ type: EvidenceInput, required: true, description: 'The evidence.' }),
    },
    resolve: (_r, { intentId, input }, ctx) => withUserErrors(() => submitGuardrailEvidence(sandboxCtx(ctx), intentId, input)),
  }),
}));
