import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  apiKeySnapshot,
  catalogJson,
  createEvent,
  dataJsonSchema,
  endpointAccepts,
  envelopeJsonSchema,
  EVENT_CATALOG,
  EVENT_TYPES,
  eventDefinition,
  exampleEvent,
  INTENT_STATES,
  intentEventType,
  intentSnapshot,
  parseEventTypeFilter,
  renderCatalogMarkdown,
  serializeEvent,
  SETTLEMENT_RAILS,
} from '../../src/areas/webhooks/catalog.ts';
import { INTENT_STATES as DOMAIN_STATES } from '../../src/areas/harbor/state-machine.ts';
import { SETTLEMENT_RAILS as DOMAIN_RAILS } from '../../src/areas/harbor/rails.ts';

// ajv-formats is CommonJS: its default export is the plugin function itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: true, allErrors: true }));

const REQUIRED = [
  'intent.created',
  'intent.funded',
  'intent.funding_pending',
  'intent.funding_failed',
  'intent.evidence_accepted',
  'intent.evidence_rejected',
  'intent.settled',
  'intent.released',
  'intent.refunded',
  'intent.settlement_pending',
  'dispute.opened',
  'dispute.resolved',
  'guardrail.policy_version.created',
  'api_key.created',
  'api_key.rotated',
  'api_key.revoked',
  'webhook.test',
];

const intentRow = {
  id: 'int_internal',
  tenantId: 'ten_1',
  intentId: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401',
  state: 'funded',
  principalDid: 'did:key:z6Mk',
  principalPubkey: 'secret-ish',
  payeeDid: 'did:web:payee.example',
  amountCents: 1200,
  currency: 'usd',
  settlementRail: 'stripe_connect',
  settlementMode: 'simulated',
  deadline: new Date('2026-02-01T00:00:00Z'),
  budget: { max: 1 },
  source: 'principal_signed',
  spentCents: 0,
  predicatePassed: null,
  settlementAction: null,
  disputeOutcome: null,
  createdAt: new Date('2026-01-15T10:00:00Z'),
  updatedAt: new Date('2026-01-15T10:01:00Z'),
};

describe('event catalogue', () => {
  it('lists every required event type, each unique and in the Standard Webhooks type charset', () => {
    for (const type of REQUIRED) expect(EVENT_CATALOG.has(type), type).toBe(true);
    expect(new Set(EVENT_TYPES).size).toBe(EVENT_TYPES.length);
    for (const type of EVENT_TYPES) expect(type).toMatch(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/);
  });

  it("mirrors the intent state machine and the rails (so schemas don't drift from the domain)", () => {
    expect([...INTENT_STATES]).toEqual([...DOMAIN_STATES]);
    expect([...SETTLEMENT_RAILS]).toEqual([...DOMAIN_RAILS]);
  });

  it('every state an intent can move into has a catalogued event', () => {
    for (const state of INTENT_STATES) {
      for (const passed of [true, false]) expect(EVENT_CATALOG.has(intentEventType(state, passed)), `${state}`).toBe(true);
    }
    expect(intentEventType('evidence_submitted', true)).toBe('intent.evidence_accepted');
    expect(intentEventType('evidence_submitted', false)).toBe('intent.evidence_rejected');
    expect(intentEventType('disputed')).toBe('dispute.opened');
    expect(intentEventType('settlement_pending')).toBe('intent.settlement_pending');
  });

  it.each(EVENT_TYPES.map((t) => [t]))('%s: the example fits its zod schema and both generated JSON Schemas (2020-12)', (type) => {
    const definition = eventDefinition(type);
    expect(definition.data.safeParse(definition.example).success).toBe(true);
    const data = dataJsonSchema(type);
    expect(data.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const validateData = ajv.compile(data);
    expect(validateData(definition.example), JSON.stringify(validateData.errors)).toBe(true);
    const validateEnvelope = ajv.compile(envelopeJsonSchema(type));
    const event = exampleEvent(type);
    expect(validateEnvelope(JSON.parse(serializeEvent(event))), JSON.stringify(validateEnvelope.errors)).toBe(true);
    // The JSON Schema really constrains: a wrong envelope type or a missing data field fails.
    expect(validateEnvelope({ ...event, type: 'other.type' })).toBe(false);
    const firstRequired = (data.required as string[] | undefined)?.[0];
    if (firstRequired) {
      const { [firstRequired]: _, ...missing } = definition.example;
      expect(validateData(missing)).toBe(false);
    }
  });

  it('builds an envelope whose id can be the webhook-id, and only catalogued fields leave', () => {
    const event = createEvent({
      type: 'api_key.created',
      tenantId: 'ten_1',
      environment: 'live',
      occurredAt: new Date('2026-01-15T10:00:00Z'),
      data: { api_key: { ...apiKeySnapshot({ ...keyRow, secretHash: 'abc123' } as typeof keyRow, new Date('2026-01-15T11:00:00Z')), secretHash: 'abc123' }, extra: 1 },
    });
    expect(event).toMatchObject({ type: 'api_key.created', tenant_id: 'ten_1', environment: 'live', timestamp: '2026-01-15T10:00:00.000Z' });
    expect(event.id).toMatch(/^evt_[A-Za-z0-9]+$/);
    expect(serializeEvent(event)).not.toContain('abc123');
    expect(serializeEvent(event)).not.toContain('extra');
    expect(Object.keys(event)).toEqual(['id', 'type', 'timestamp', 'tenant_id', 'environment', 'data']);
  });

  it('maps an intent row to the intent snapshot, dropping internal columns', () => {
    const event = createEvent({
      type: 'intent.funded',
      tenantId: 'ten_1',
      environment: 'sandbox',
      occurredAt: new Date(),
      data: { intent: intentSnapshot(intentRow), previous_state: 'created', funding: { attempt: 1 } },
    });
    const body = serializeEvent(event);
    expect(body).not.toContain('int_internal');
    expect(body).not.toContain('secret-ish');
    expect((event.data.intent as Record<string, unknown>).deadline).toBe('2026-02-01T00:00:00.000Z');
    expect(ajv.compile(envelopeJsonSchema('intent.funded'))(JSON.parse(body))).toBe(true);
  });

  it('refuses data that does not fit, and unknown types', () => {
    expect(() =>
      createEvent({ type: 'intent.funded', tenantId: 't', environment: 'live', occurredAt: new Date(), data: { intent: { ...intentSnapshot(intentRow), amount_cents: -5 }, previous_state: 'created', funding: { attempt: 1 } } }),
    ).toThrow(expect.objectContaining({ code: 'invalid_event_data' }));
    expect(() => createEvent({ type: 'intent.exploded', tenantId: 't', environment: 'live', occurredAt: new Date(), data: {} })).toThrow(
      expect.objectContaining({ code: 'unknown_event_type' }),
    );
  });

  it('event type filters: exact types, group wildcards, *, empty = all', () => {
    expect(parseEventTypeFilter(['intent.funded', 'intent.*', 'intent.funded'])).toEqual(['intent.*', 'intent.funded']);
    expect(parseEventTypeFilter(undefined)).toEqual([]);
    for (const bad of ['intent.exploded', 'nothing.*', 'intent', '']) {
      expect(() => parseEventTypeFilter([bad])).toThrow(expect.objectContaining({ code: 'unknown_event_type' }));
    }
    expect(endpointAccepts([], 'dispute.opened')).toBe(true);
    expect(endpointAccepts(null, 'dispute.opened')).toBe(true);
    expect(endpointAccepts(['*'], 'api_key.created')).toBe(true);
    expect(endpointAccepts(['intent.*'], 'intent.funded')).toBe(true);
    expect(endpointAccepts(['intent.*'], 'dispute.opened')).toBe(false);
    expect(endpointAccepts(['api_key.created'], 'api_key.revoked')).toBe(false);
  });

  it('renders Markdown docs with every event, its schema and a parseable example', () => {
    const md = renderCatalogMarkdown();
    for (const type of EVENT_TYPES) expect(md).toContain(`### \`${type}\``);
    expect(md).toContain('| 12 | 12 h | 2 d 23 h 22 min 30 s |');
    const blocks = [...md.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(EVENT_TYPES.length * 2);
    for (const block of blocks) expect(() => JSON.parse(block)).not.toThrow();
    expect(catalogJson()).toHaveLength(EVENT_TYPES.length);
  });
});

const keyRow = {
  id: 'key_1',
  name: 'svc',
  hint: 'abcd',
  createdAt: new Date('2026-01-15T10:00:00Z'),
  expiresAt: new Date('2026-01-15T10:30:00Z'),
  revokedAt: null,
  rotatedFromId: null,
};

describe('snapshots', () => {
  it('api key status follows revocation and expiry', () => {
    expect(apiKeySnapshot(keyRow, new Date('2026-01-15T10:10:00Z')).status).toBe('active');
    expect(apiKeySnapshot(keyRow, new Date('2026-01-15T10:30:00Z')).status).toBe('expired');
    expect(apiKeySnapshot({ ...keyRow, revokedAt: new Date() }, new Date('2026-01-15T10:10:00Z')).status).toBe('revoked');
  });
});
