import { z } from 'zod';
import { newId } from '../../crypto/hash.ts';
import { WebhookError } from './errors.ts';
import { DEFAULT_TIMEOUT_MS } from './deliver.ts';
import { FAILING_RULE, formatDuration, renderScheduleTable } from './schedule.ts';
import { DISPUTE_CASE_CHANGES } from '../disputes/changes.ts';

/** The states of an operator's Signal review case (src/areas/signal/model/review.ts). */
const REVIEW_STATES = ['none', 'open', 'in_review', 'closed'] as const;

/**
 * The webhook event catalogue: every event type the gateway sends, the schema of its `data`, an
 * example, and the envelope around it. Each `data` schema is a zod schema: `createEvent` parses the
 * producer's object with it (unknown keys are dropped, so only catalogued fields ever leave), and
 * the documented JSON Schema (2020-12) is generated from the same definition, so the two cannot
 * disagree.
 *
 * Compatibility: fields may be added to an event's `data` without notice; consumers ignore unknown
 * fields (the schemas do not forbid additional properties). Removing or retyping a field needs a
 * new event type.
 */

// Mirrors the intent state machine and the SDK's rail names; test/webhooks/catalog.test.ts keeps them equal.
export const INTENT_STATES = [
  'created',
  'funding_pending',
  'funded',
  'funding_failed',
  'evidence_submitted',
  'settlement_pending',
  'released',
  'settled',
  'refunded',
  'settlement_failed',
  'voided',
  'disputed',
  'resolved',
] as const;
export const SETTLEMENT_RAILS = ['stripe_connect', 'stripe_ach_debit', 'stripe_mpp', 'adyen_manual_capture', 'x402_usdc_base'] as const;

const timestamp = z.iso.datetime().meta({ description: 'RFC 3339 timestamp, UTC' });
const hexDigest = z.string().regex(/^[0-9a-f]{64}$/).meta({ description: 'SHA-256, lower-case hex' });
const state = z.enum(INTENT_STATES);

const intent = z
  .object({
    intent_id: z.string().meta({ description: 'Client-chosen intent id, unique per tenant' }),
    state,
    principal_did: z.string(),
    payee_did: z.string(),
    amount_cents: z.number().int().min(1),
    currency: z.string().meta({ description: 'Currency code as given at creation, e.g. usd' }),
    settlement_rail: z.enum(SETTLEMENT_RAILS),
    settlement_mode: z.string().meta({ description: 'simulated in sandbox; the provider mode for live rails' }),
    deadline: timestamp,
    source: z.enum(['principal_signed', 'agent_checkout']),
    spent_cents: z.number().int().min(0).meta({ description: 'Capability spend reserved or consumed' }),
    predicate_passed: z.boolean().nullable().meta({ description: 'Result of the latest evidence evaluation; null before evidence' }),
    settlement_action: z.enum(['release', 'refund']).nullable(),
    dispute_outcome: z.enum(['release', 'refund', 'split']).nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ description: 'The intent after the change' });

const intentChange = (extra: z.ZodRawShape = {}) =>
  z.object({ intent, previous_state: state.meta({ description: 'State before the change' }), ...extra });

const funding = (extra: z.ZodRawShape = {}) =>
  z.object({ attempt: z.number().int().min(1).meta({ description: 'Funding attempt number on this intent' }), ...extra });

const evidence = z.object({
  evidence_id: z.string(),
  payload_digest: hexDigest.meta({ description: 'JCS SHA-256 of the evidence payload (the payload itself is not sent)' }),
  artifacts_digest: hexDigest,
  schema_valid: z.boolean(),
  predicate_passed: z.boolean(),
});

const settlement = z.object({ action: z.enum(['release', 'refund']).meta({ description: 'release pays the payee; refund returns funds to the principal' }) });

const apiKey = z.object({
  id: z.string(),
  name: z.string(),
  hint: z.string().meta({ description: 'Last four characters of the secret (the secret itself is never sent)' }),
  status: z.enum(['active', 'revoked', 'expired']),
  created_at: timestamp,
  expires_at: timestamp.nullable(),
  revoked_at: timestamp.nullable(),
  rotated_from_id: z.string().nullable(),
});

const policy = z.object({
  version: z.number().int().min(1),
  mode: z.enum(['enforce', 'observe']),
  allowed_templates: z.array(z.string()),
  allow_raw_predicates: z.boolean(),
  max_intent_amount_cents: z.record(z.string(), z.number().int()).meta({ description: 'Per-currency ceiling' }),
  lifecycle_confirmations: z.record(z.string(), z.boolean()),
  rate_limit_profile: z.record(z.string(), z.object({ limit: z.number().int(), window_seconds: z.number().int() })),
  created_at: timestamp,
  created_by: z.string().nullable(),
});

export type EventStatus = 'stable' | 'placeholder';

export interface EventDefinition {
  type: string;
  group: string;
  title: string;
  description: string;
  /** `placeholder`: reserved for an area still being built; its `data` shape is not final. */
  status: EventStatus;
  data: z.ZodType;
  example: Record<string, unknown>;
}

const T0 = '2026-01-15T10:00:00.000Z';
const T1 = '2026-01-15T10:05:00.000Z';
const exampleIntent = (overrides: Record<string, unknown> = {}) => ({
  intent_id: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401',
  state: 'created',
  principal_did: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
  payee_did: 'did:web:tools.example.com',
  amount_cents: 2500,
  currency: 'usd',
  settlement_rail: 'stripe_connect',
  settlement_mode: 'simulated',
  deadline: '2026-01-16T10:00:00.000Z',
  source: 'principal_signed',
  spent_cents: 0,
  predicate_passed: null,
  settlement_action: null,
  dispute_outcome: null,
  created_at: T0,
  updated_at: T0,
  ...overrides,
});
const exampleApiKey = (overrides: Record<string, unknown> = {}) => ({
  id: 'key_3hG8kQ2mZx9vTa1c',
  name: 'checkout service',
  hint: 'Xk2p',
  status: 'active',
  created_at: T0,
  expires_at: null,
  revoked_at: null,
  rotated_from_id: null,
  ...overrides,
});
const funded = { state: 'funded', updated_at: T1 };
const evidenced = (passed: boolean) => ({ state: 'evidence_submitted', predicate_passed: passed, updated_at: T1 });
const exampleEvidence = (passed: boolean) => ({
  evidence_id: 'evd_9QmT2bXr4Lp8Wc1z',
  payload_digest: 'a3f1c9e0b7d24e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f',
  artifacts_digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  schema_valid: true,
  predicate_passed: passed,
});

const definitions: EventDefinition[] = [
  {
    type: 'intent.created',
    group: 'Harbor intents',
    title: 'Intent created',
    description: 'A principal-signed intent or an agent checkout created an intent.',
    status: 'stable',
    data: z.object({ intent, previous_state: z.null() }),
    example: { intent: exampleIntent(), previous_state: null },
  },
  {
    type: 'intent.funding_pending',
    group: 'Harbor intents',
    title: 'Funding pending',
    description: 'The rail accepted a funding request that completes asynchronously (for example ACH debit).',
    status: 'stable',
    data: intentChange({ funding: funding() }),
    example: { intent: exampleIntent({ state: 'funding_pending', settlement_rail: 'stripe_ach_debit', updated_at: T1 }), previous_state: 'created', funding: { attempt: 1 } },
  },
  {
    type: 'intent.funded',
    group: 'Harbor intents',
    title: 'Intent funded',
    description: 'Funds are secured; capability tokens may now authorise spend.',
    status: 'stable',
    data: intentChange({ funding: funding() }),
    example: { intent: exampleIntent(funded), previous_state: 'created', funding: { attempt: 1 } },
  },
  {
    type: 'intent.funding_failed',
    group: 'Harbor intents',
    title: 'Funding failed',
    description: 'The rail reported that a pending funding attempt failed. Funding can be retried.',
    status: 'stable',
    data: intentChange({ funding: funding({ failure_code: z.string().nullable().meta({ description: "The rail's failure code, when it gave one" }) }) }),
    example: {
      intent: exampleIntent({ state: 'funding_failed', settlement_rail: 'stripe_ach_debit', updated_at: T1 }),
      previous_state: 'funding_pending',
      funding: { attempt: 1, failure_code: 'insufficient_funds' },
    },
  },
  {
    type: 'intent.evidence_accepted',
    group: 'Harbor intents',
    title: 'Evidence accepted',
    description: "Evidence was recorded and satisfied the intent's schema and predicate; settlement will release to the payee.",
    status: 'stable',
    data: intentChange({ evidence }),
    example: { intent: exampleIntent(evidenced(true)), previous_state: 'funded', evidence: exampleEvidence(true) },
  },
  {
    type: 'intent.evidence_rejected',
    group: 'Harbor intents',
    title: 'Evidence rejected',
    description: 'Evidence was recorded but did not satisfy the schema or predicate; settlement will refund unless later evidence passes.',
    status: 'stable',
    data: intentChange({ evidence }),
    example: { intent: exampleIntent(evidenced(false)), previous_state: 'funded', evidence: { ...exampleEvidence(false), schema_valid: false } },
  },
  {
    type: 'intent.settlement_pending',
    group: 'Harbor intents',
    title: 'Settlement pending',
    description: 'Settlement was requested and the rail has not reported an outcome yet.',
    status: 'stable',
    data: intentChange({ settlement }),
    example: {
      intent: exampleIntent({ state: 'settlement_pending', predicate_passed: true, settlement_action: 'release', updated_at: T1 }),
      previous_state: 'evidence_submitted',
      settlement: { action: 'release' },
    },
  },
  {
    type: 'intent.released',
    group: 'Harbor intents',
    title: 'Funds released',
    description: 'The rail released the funds to the payee; finality (intent.settled) may follow later.',
    status: 'stable',
    data: intentChange({ settlement }),
    example: {
      intent: exampleIntent({ state: 'released', predicate_passed: true, settlement_action: 'release', updated_at: T1 }),
      previous_state: 'settlement_pending',
      settlement: { action: 'release' },
    },
  },
  {
    type: 'intent.settled',
    group: 'Harbor intents',
    title: 'Intent settled',
    description: 'The release is final.',
    status: 'stable',
    data: intentChange({ settlement }),
    example: {
      intent: exampleIntent({ state: 'settled', predicate_passed: true, settlement_action: 'release', updated_at: T1 }),
      previous_state: 'released',
      settlement: { action: 'release' },
    },
  },
  {
    type: 'intent.refunded',
    group: 'Harbor intents',
    title: 'Intent refunded',
    description: 'The funds were returned to the principal.',
    status: 'stable',
    data: intentChange({ settlement }),
    example: {
      intent: exampleIntent({ state: 'refunded', predicate_passed: false, settlement_action: 'refund', updated_at: T1 }),
      previous_state: 'settlement_pending',
      settlement: { action: 'refund' },
    },
  },
  {
    type: 'intent.settlement_failed',
    group: 'Harbor intents',
    title: 'Settlement failed',
    description: 'The rail reported that settlement failed; it can be requested again.',
    status: 'stable',
    data: intentChange({ settlement }),
    example: {
      intent: exampleIntent({ state: 'settlement_failed', predicate_passed: true, settlement_action: 'release', updated_at: T1 }),
      previous_state: 'settlement_pending',
      settlement: { action: 'release' },
    },
  },
  {
    type: 'intent.voided',
    group: 'Harbor intents',
    title: 'Intent voided',
    description: 'The intent was cancelled before it was funded.',
    status: 'stable',
    data: intentChange(),
    example: { intent: exampleIntent({ state: 'voided', updated_at: T1 }), previous_state: 'created' },
  },
  {
    type: 'dispute.opened',
    group: 'Disputes',
    title: 'Dispute opened',
    description: 'A dispute was opened on an intent; settlement is held until it is resolved.',
    status: 'stable',
    data: intentChange({ dispute: z.object({ reason: z.string(), evidence_refs: z.array(z.string()) }) }),
    example: {
      intent: exampleIntent({ state: 'disputed', predicate_passed: true, updated_at: T1 }),
      previous_state: 'evidence_submitted',
      dispute: { reason: 'Tool output did not match the order', evidence_refs: ['ticket:4821'] },
    },
  },
  {
    type: 'dispute.resolved',
    group: 'Disputes',
    title: 'Dispute resolved',
    description: 'A dispute was resolved with an outcome and rationale.',
    status: 'stable',
    data: intentChange({ dispute: z.object({ outcome: z.enum(['release', 'refund', 'split']), rationale: z.string() }) }),
    example: {
      intent: exampleIntent({ state: 'resolved', predicate_passed: true, dispute_outcome: 'refund', updated_at: T1 }),
      previous_state: 'disputed',
      dispute: { outcome: 'refund', rationale: 'The payee confirmed the order was not fulfilled' },
    },
  },
  {
    type: 'guardrail.policy_version.created',
    group: 'Guardrails',
    title: 'Guardrail policy version created',
    description: "A tenant admin saved a new immutable version of the tenant's guardrail policy.",
    status: 'stable',
    data: z.object({ policy }),
    example: {
      policy: {
        version: 3,
        mode: 'enforce',
        allowed_templates: ['delivery_confirmed'],
        allow_raw_predicates: false,
        max_intent_amount_cents: { usd: 50_000 },
        lifecycle_confirmations: { settle: true },
        rate_limit_profile: { harbor_intent_mutation: { limit: 60, window_seconds: 60 } },
        created_at: T0,
        created_by: 'usr_5TzQ1mVb8Kc2Ln7d',
      },
    },
  },
  {
    type: 'api_key.created',
    group: 'API keys',
    title: 'API key created',
    description: 'A tenant API key was created. The secret is never part of an event.',
    status: 'stable',
    data: z.object({ api_key: apiKey }),
    example: { api_key: exampleApiKey() },
  },
  {
    type: 'api_key.rotated',
    group: 'API keys',
    title: 'API key rotated',
    description: 'A tenant API key was replaced: the old key stopped working and a new one was issued.',
    status: 'stable',
    data: z.object({ api_key: apiKey.meta({ description: 'The new key' }), replaced_api_key: apiKey.meta({ description: 'The revoked key' }) }),
    example: {
      api_key: exampleApiKey({ id: 'key_8Vw2pLq5Rt3nYb6h', hint: 'm9Qe', created_at: T1, rotated_from_id: 'key_3hG8kQ2mZx9vTa1c' }),
      replaced_api_key: exampleApiKey({ status: 'revoked', revoked_at: T1 }),
    },
  },
  {
    type: 'api_key.revoked',
    group: 'API keys',
    title: 'API key revoked',
    description: 'A tenant API key was revoked.',
    status: 'stable',
    data: z.object({ api_key: apiKey }),
    example: { api_key: exampleApiKey({ status: 'revoked', revoked_at: T1 }) },
  },
  {
    type: 'webhook.test',
    group: 'Webhooks',
    title: 'Test event',
    description: 'Sent on request to one endpoint to check its URL and signature verification. Delivered whatever the endpoint subscribes to.',
    status: 'stable',
    data: z.object({ endpoint_id: z.string(), message: z.string() }),
    example: { endpoint_id: 'whe_2Lm8Qx4Tb7Rc1Vn5', message: 'Test event from Paybond Gateway' },
  },
  {
    type: 'settlement.config_version.created',
    group: 'Settlement configuration',
    title: 'Settlement configuration version created',
    description: 'A tenant admin saved a new settlement configuration version.',
    status: 'stable',
    data: z.looseObject({ settlement_config: z.looseObject({ version: z.number().int().min(1), allowed_rails: z.array(z.string()), created_at: timestamp }) }),
    example: { settlement_config: { version: 2, allowed_rails: ['stripe_connect', 'x402_usdc_base'], created_at: T0 } },
  },
  {
    type: 'dispute_case.updated',
    group: 'Dispute cases',
    title: 'Dispute case updated',
    description: 'A dispute case was created, linked to its Harbor dispute, assigned, annotated, given evidence, resolved or withdrawn (`change` says which); `dispute_case` is the case after the change. Note bodies and evidence contents are not included.',
    status: 'stable',
    data: z.looseObject({
      dispute_case: z.looseObject({
        case_id: z.string(),
        intent_id: z.string().nullable(),
        status: z.enum(['open', 'under_review', 'resolved', 'withdrawn']),
        priority: z.enum(['low', 'normal', 'high', 'urgent']),
        assignee_id: z.string().nullable(),
        outcome: z.enum(['payee_wins', 'payer_wins', 'split']).nullable(),
        updated_at: timestamp,
      }),
      change: z.enum(DISPUTE_CASE_CHANGES),
    }),
    example: {
      dispute_case: { case_id: 'dsc_6Hn2Vq8Zr1Tm4Kb9', intent_id: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401', status: 'under_review', priority: 'high', assignee_id: 'usr_3Fq8Lm2Vx9Tb4Kc1', outcome: null, updated_at: T1 },
      change: 'case_assigned',
    },
  },
  {
    type: 'signal.review_status.changed',
    group: 'Signal',
    title: 'Operator review status changed',
    description:
      "An operator's Signal review case moved to another state (`none`, `open`, `in_review`, `closed`): a high or critical fraud signal or a requested review opened it, an outcome closed it. Its reasons are signal codes and review reasons, never evidence.",
    status: 'stable',
    data: z.looseObject({
      operator_did: z.string(),
      review_status: z.enum(REVIEW_STATES),
      previous_review_status: z.enum(REVIEW_STATES),
      review_outcome: z.string(),
      review_reasons: z.array(z.string()),
    }),
    example: { operator_did: 'did:web:tools.example.com', review_status: 'open', previous_review_status: 'none', review_outcome: 'none', review_reasons: ['FRAUD_REVIEW', 'VELOCITY_SPIKE'] },
  },
];

export const EVENT_CATALOG: ReadonlyMap<string, EventDefinition> = new Map(definitions.map((d) => [d.type, d]));
export const EVENT_TYPES: readonly string[] = definitions.map((d) => d.type);

export function eventDefinition(type: string): EventDefinition {
  const definition = EVENT_CATALOG.get(type);
  if (!definition) throw new WebhookError('unknown_event_type', `Unknown event type ${type}`, { type });
  return definition;
}

/** The webhook event for each intent state an intent moves into (evidence splits on the predicate). */
export function intentEventType(toState: (typeof INTENT_STATES)[number], predicatePassed?: boolean | null): string {
  switch (toState) {
    case 'evidence_submitted':
      return predicatePassed ? 'intent.evidence_accepted' : 'intent.evidence_rejected';
    case 'disputed':
      return 'dispute.opened';
    case 'resolved':
      return 'dispute.resolved';
    default:
      return `intent.${toState}`;
  }
}

export type Environment = 'live' | 'sandbox';

export interface EventEnvelope {
  /** `evt_…`; also the `webhook-id` of every delivery of this event. */
  id: string;
  type: string;
  /** When the change happened (RFC 3339); the delivery time is `webhook-timestamp`. */
  timestamp: string;
  tenant_id: string;
  environment: Environment;
  data: Record<string, unknown>;
}

/**
 * Build an event from the producer's `data` (parsed with the type's schema: unknown keys dropped,
 * `invalid_event_data` if it does not fit). Tenant and environment come from the server's own
 * records, never from a request.
 */
export function createEvent(input: { type: string; tenantId: string; environment: Environment; data: unknown; occurredAt: Date; id?: string }): EventEnvelope {
  const definition = eventDefinition(input.type);
  const parsed = definition.data.safeParse(input.data);
  if (!parsed.success) {
    throw new WebhookError('invalid_event_data', `Data does not match the ${input.type} schema`, {
      type: input.type,
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  return {
    id: input.id ?? newId('evt'),
    type: input.type,
    timestamp: input.occurredAt.toISOString(),
    tenant_id: input.tenantId,
    environment: input.environment,
    data: parsed.data as Record<string, unknown>,
  };
}

/** The body to store in the outbox and send byte for byte on every attempt (signatures cover these bytes). */
export const serializeEvent = (event: EventEnvelope): string => JSON.stringify(event);

// ---- Snapshots: rows (camelCase, Dates) to the catalogue's data objects ------------------------

const iso = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);

export interface IntentRowLike {
  intentId: string;
  state: string;
  principalDid: string;
  payeeDid: string;
  amountCents: number;
  currency: string;
  settlementRail: string;
  settlementMode: string;
  deadline: Date;
  source: string;
  spentCents: number;
  predicatePassed: boolean | null;
  settlementAction: string | null;
  disputeOutcome: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export const intentSnapshot = (row: IntentRowLike) => ({
  intent_id: row.intentId,
  state: row.state,
  principal_did: row.principalDid,
  payee_did: row.payeeDid,
  amount_cents: row.amountCents,
  currency: row.currency,
  settlement_rail: row.settlementRail,
  settlement_mode: row.settlementMode,
  deadline: row.deadline.toISOString(),
  source: row.source,
  spent_cents: row.spentCents,
  predicate_passed: row.predicatePassed,
  settlement_action: row.settlementAction,
  dispute_outcome: row.disputeOutcome,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
});

export interface ApiKeyRowLike {
  id: string;
  name: string;
  hint: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  rotatedFromId: string | null;
}

export const apiKeySnapshot = (row: ApiKeyRowLike, now: Date) => ({
  id: row.id,
  name: row.name,
  hint: row.hint,
  status: row.revokedAt ? 'revoked' : row.expiresAt && row.expiresAt <= now ? 'expired' : 'active',
  created_at: row.createdAt.toISOString(),
  expires_at: iso(row.expiresAt),
  revoked_at: iso(row.revokedAt),
  rotated_from_id: row.rotatedFromId,
});

// ---- Endpoint subscriptions ----------------------------------------------------------------------

/**
 * Normalise an endpoint's `event_types`: exact catalogued types, `group.*` wildcards (a prefix of at
 * least one type) or `*`. Empty or absent means every event.
 */
export function parseEventTypeFilter(types: readonly string[] | null | undefined): string[] {
  const out = new Set<string>();
  for (const type of types ?? []) {
    const known =
      type === '*' || EVENT_CATALOG.has(type) || (type.endsWith('.*') && EVENT_TYPES.some((t) => t.startsWith(type.slice(0, -1))));
    if (!known) throw new WebhookError('unknown_event_type', `Unknown event type ${type}`, { type });
    out.add(type);
  }
  return [...out].sort();
}

/** Whether an endpoint with this (parsed) filter receives `type`. */
export const endpointAccepts = (filter: readonly string[] | null | undefined, type: string): boolean =>
  !filter || filter.length === 0 || filter.some((f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))));

// ---- JSON Schema and documentation ---------------------------------------------------------------

function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    override: (ctx) => {
      const json = ctx.jsonSchema as Record<string, unknown>;
      // zod writes its own date-time regex beside `format`; the format alone is the contract.
      if (json.format === 'date-time') delete json.pattern;
      if (json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum;
      if (json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum;
    },
  }) as Record<string, unknown>;
}

/** JSON Schema (2020-12) of one event type's `data`. */
export const dataJsonSchema = (type: string): Record<string, unknown> => titled(`${type} data`, toJsonSchema(eventDefinition(type).data));

const titled = (title: string, schema: Record<string, unknown>) => ({ $schema: schema.$schema, title, ...schema });

/** JSON Schema (2020-12) of a whole event of `type`: the envelope with that type's `data`. */
export function envelopeJsonSchema(type: string): Record<string, unknown> {
  const definition = eventDefinition(type);
  const envelope = z.object({
    id: z.string().regex(/^evt_[A-Za-z0-9]+$/).meta({ description: 'Event id; also the webhook-id header, the same on every retry' }),
    type: z.literal(type),
    timestamp: timestamp.meta({ description: 'When the change happened (the delivery time is the webhook-timestamp header)' }),
    tenant_id: z.string(),
    environment: z.enum(['live', 'sandbox']),
    data: definition.data,
  });
  return titled(type, toJsonSchema(envelope));
}

/** An example event of `type`, as a receiver would get it. */
export const exampleEvent = (type: string): EventEnvelope =>
  createEvent({ type, tenantId: 'ten_4Qx9Lm2Vb7Rt1Kc8', environment: 'sandbox', data: eventDefinition(type).example, occurredAt: new Date(T1), id: 'evt_2Nq7Vx4Lm9Tb3Rc8' });

/** The catalogue as JSON, for a machine-readable docs route. */
export const catalogJson = () =>
  definitions.map((d) => ({ type: d.type, group: d.group, title: d.title, description: d.description, status: d.status, data_schema: dataJsonSchema(d.type), example: exampleEvent(d.type) }));

const block = (lang: string, value: unknown) => `\`\`\`${lang}\n${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n\`\`\``;

/** The catalogue as one Markdown document (envelope, headers, verification, retries, every event). */
export function renderCatalogMarkdown(): string {
  const groups = [...new Set(definitions.map((d) => d.group))];
  const lines: string[] = [
    '# Webhook events',
    '',
    'Paybond Gateway sends webhooks following the [Standard Webhooks](https://www.standardwebhooks.com) specification:',
    'an HTTP `POST` with a JSON body and the headers `webhook-id`, `webhook-timestamp` and `webhook-signature`.',
    '',
    '## Envelope',
    '',
    '| Field | Meaning |',
    '| ----- | ------- |',
    '| `id` | Event id (`evt_…`). Also sent as `webhook-id`; the same on every retry, so use it to process each event once. |',
    '| `type` | One of the event types below. |',
    '| `timestamp` | When the change happened (RFC 3339, UTC). |',
    '| `tenant_id` | The tenant the event belongs to. |',
    '| `environment` | `live` or `sandbox`, from the tenant; never from a request. |',
    '| `data` | The event data; its schema depends on `type`. |',
    '',
    'New fields may appear in `data` at any time: ignore fields you do not know. Removing or changing a field',
    'gets a new event type.',
    '',
    '## Verifying a delivery',
    '',
    'Every delivery is signed with HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` using the',
    "endpoint's signing secret (`whsec_…`, shown once when the endpoint is created or its secret rotated).",
    '`webhook-signature` holds one or more space-separated `v1,<base64>` signatures: during a secret rotation',
    'both the new and the previous secret sign, so either verifies. Verify the raw body before parsing it,',
    'and reject timestamps more than five minutes away from your clock. Any Standard Webhooks library does',
    'this, for example in Node.js:',
    '',
    block(
      'js',
      [
        "import { Webhook } from 'standardwebhooks';",
        '',
        'const wh = new Webhook(process.env.PAYBOND_WEBHOOK_SECRET); // whsec_…',
        '// rawBody: the request body exactly as received (string or Buffer)',
        'const event = wh.verify(rawBody, {',
        "  'webhook-id': req.headers['webhook-id'],",
        "  'webhook-timestamp': req.headers['webhook-timestamp'],",
        "  'webhook-signature': req.headers['webhook-signature'],",
        '});',
      ].join('\n'),
    ),
    '',
    '## Delivery and retries',
    '',
    `Answer with any \`2xx\` status within ${DEFAULT_TIMEOUT_MS / 1000} seconds to acknowledge a delivery. Redirects are not followed`,
    '(a `3xx` answer is a failure). Answering `410 Gone` disables the endpoint. Any other answer, a timeout or',
    'a connection error is retried on this schedule (each delay varies randomly by up to 20 %; a',
    '`Retry-After` header can lengthen a delay):',
    '',
    renderScheduleTable(),
    '',
    'After the last attempt the delivery stays listed with its error and can be redelivered. An endpoint',
    `whose deliveries keep failing (${FAILING_RULE.consecutiveFailures} failed attempts in a row, over at least ${formatDuration(FAILING_RULE.minDurationMs)}) is shown as failing`,
    'to the tenant\'s admins until a delivery succeeds. Events can arrive more than once and out of order:',
    'use `id` to deduplicate and `timestamp` (or the intent\'s `updated_at`) to order them.',
    '',
    '## Event types',
    '',
    '| Type | Description |',
    '| ---- | ----------- |',
    ...definitions.map((d) => `| [\`${d.type}\`](#${d.type.replace(/\./g, '')}) | ${d.description}${d.status === 'placeholder' ? ' *(placeholder)*' : ''} |`),
  ];
  for (const group of groups) {
    lines.push('', `## ${group}`);
    for (const d of definitions.filter((x) => x.group === group)) {
      lines.push('', `### \`${d.type}\``, '', `**${d.title}.** ${d.description}`);
      if (d.status === 'placeholder') lines.push('', '> Placeholder: reserved for an area still being built; the shape of `data` is not final.');
      lines.push('', 'Schema of `data` (JSON Schema 2020-12):', '', block('json', dataJsonSchema(d.type)), '', 'Example event:', '', block('json', exampleEvent(d.type)));
    }
  }
  return `${lines.join('\n')}\n`;
}
