import { z } from 'zod';
import { guardrailPolicyInput } from '../../src/areas/guardrails/policy.ts';
import { auditDecision } from '../../src/kernel/audit/service.ts';
import { operation, snakeFields, type RestRoute } from '../route.ts';
import { pageQuery, pageVariables, timestamp } from '../schemas.ts';

const USER_ERRORS = 'userErrors { code message field details }';
const tag = 'Guardrails and audit trail';

const GUARDRAIL = snakeFields('configured version mode allowedTemplates allowRawPredicates maxIntentAmountCents lifecycleConfirmations rateLimitProfile createdAt createdBy');
const AUDIT = `node_id: id ${snakeFields('eventId eventType resource resourceId decision actorType actorId requestId idempotencyKeySha256Hex details createdAt')}`;

export const guardrailRoutes: RestRoute[] = [
  operation({
    method: 'GET',
    path: '/v1/admin/guardrails/policy',
    summary: 'The active guardrail policy of the tenant, or the unconfigured default envelope (version 0).',
    tag,
    operation: `{ guardrailPolicy { ${GUARDRAIL} } }`,
    variables: () => ({}),
  }),
  operation({
    method: 'GET',
    path: '/v1/admin/guardrails/policy/history',
    summary: 'Recent immutable guardrail policy versions, newest first.',
    tag,
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).optional() }),
    operation: `query($limit: Int) { guardrailPolicyHistory(limit: $limit) { ${GUARDRAIL} } }`,
    variables: ({ query }) => ({ limit: query.limit }),
    shape: { wrap: 'versions' },
  }),
  operation({
    method: 'PUT',
    path: '/v1/admin/guardrails/policy',
    summary: 'Insert a new guardrail policy version: mode, allowed templates, raw predicates, amount rules, lifecycle confirmations, rate-limit profile.',
    tag,
    body: guardrailPolicyInput,
    example: {
      body: {
        mode: 'enforce',
        allowed_templates: ['api_response_v1', 'completion_budget_v1'],
        allow_raw_predicates: false,
        max_intent_amount_cents: { usd: 50_000 },
        lifecycle_confirmations: { publish: true },
        rate_limit_profile: { harbor_intent_mutation: { limit: 300, window_seconds: 60 } },
      },
    },
    operation: `mutation($input: GuardrailPolicyInput!) { guardrailPolicyUpdate(input: $input) { policy { ${GUARDRAIL} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'policy' },
  }),
  operation({
    method: 'GET',
    path: '/v1/admin/audit-events',
    summary: 'Redacted tenant audit events (filters: event_type, resource, decision, request_id, idempotency_key_sha256_hex, created_after, created_before; cursor pagination).',
    tag,
    query: pageQuery.extend({
      event_type: z.string().max(200).optional(),
      resource: z.string().max(200).optional(),
      decision: auditDecision.optional(),
      request_id: z.string().max(200).optional(),
      idempotency_key_sha256_hex: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters').optional(),
      created_after: timestamp.optional(),
      created_before: timestamp.optional(),
    }),
    operation: `query($first: Int, $after: String, $eventType: String, $resource: String, $decision: AuditDecision, $requestId: String, $idempotencyKeySha256Hex: String, $createdAfter: DateTime, $createdBefore: DateTime) {
      auditEvents(first: $first, after: $after, eventType: $eventType, resource: $resource, decision: $decision, requestId: $requestId,
        idempotencyKeySha256Hex: $idempotencyKeySha256Hex, createdAfter: $createdAfter, createdBefore: $createdBefore) {
        edges { node { ${AUDIT} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => ({
      ...pageVariables(query),
      eventType: query.event_type,
      resource: query.resource,
      decision: query.decision,
      requestId: query.request_id,
      idempotencyKeySha256Hex: query.idempotency_key_sha256_hex,
      createdAfter: query.created_after,
      createdBefore: query.created_before,
    }),
    shape: { page: 'events' },
  }),
];
