import { z } from 'zod';
import { guardrailPolicyInput } from '../../src/domain/guardrails/policy.ts';
import { draftInput, previewInput, rollbackInput, testInput, versionRefInput } from '../../src/domain/harbor/policies.ts';
import { camelKeys, operation, snakeFields, type RestRoute } from '../route.ts';
import { page, pageVariables, snakeBody, timestamp } from '../schemas.ts';

const USER_ERRORS = 'userErrors { code message field details }';
const reader = { principals: ['user' as const, 'api_key' as const, 'harbor' as const, 'pat' as const, 'agent' as const] };
const writer = { principals: ['user' as const, 'api_key' as const, 'harbor' as const, 'agent' as const], admin: true };
const guardrailTag = 'Guardrails and audit trail';
const policyTag = 'Harbor policy lifecycle';

const GUARDRAIL = snakeFields('configured version mode allowedTemplates allowRawPredicates maxIntentAmountCents lifecycleConfirmations rateLimitProfile createdAt createdBy');
const guardrail = z.object({
  configured: z.boolean(),
  version: z.number().int(),
  mode: z.enum(['enforce', 'observe']),
  allowed_templates: z.array(z.string()),
  allow_raw_predicates: z.boolean(),
  max_intent_amount_cents: z.record(z.string(), z.number().int()),
  lifecycle_confirmations: z.record(z.string(), z.boolean()),
  rate_limit_profile: z.record(z.string(), z.object({ limit: z.number().int(), window_seconds: z.number().int() })),
  created_at: timestamp.nullable(),
  created_by: z.string().nullable(),
});

const AUDIT = `node_id: id ${snakeFields('eventId eventType resource resourceId decision actorType actorId requestId idempotencyKeySha256Hex details createdAt')}`;
const auditEvent = z.object({
  node_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  resource: z.string(),
  resource_id: z.string().nullable(),
  decision: z.string(),
  actor_type: z.string(),
  actor_id: z.string().nullable(),
  request_id: z.string().nullable(),
  idempotency_key_sha256_hex: z.string().nullable(),
  details: z.unknown(),
  created_at: timestamp,
});

const VERSION = snakeFields('templateId seq status digestHex parameters predicate rawPredicate reason rolledBackFromSeq createdAt publishedAt');
const version = z.object({
  template_id: z.string(),
  seq: z.number().int(),
  status: z.enum(['draft', 'published', 'deprecated', 'retired']),
  digest_hex: z.string(),
  parameters: z.unknown(),
  predicate: z.unknown(),
  raw_predicate: z.boolean(),
  reason: z.string().nullable(),
  rolled_back_from_seq: z.number().int().nullable(),
  created_at: timestamp,
  published_at: timestamp.nullable(),
});
const previewResult = z.object({ template_id: z.string(), predicate: z.unknown(), digest_hex: z.string().nullable(), passed: z.boolean().nullable() });

const lifecycle = (action: 'publish' | 'deprecate' | 'retire', summary: string): RestRoute =>
  operation({
    method: 'POST',
    path: `/harbor/policy/v1/${action}`,
    summary,
    tag: policyTag,
    auth: writer,
    body: snakeBody(versionRefInput),
    example: { body: { template_id: 'api_response_v1', seq: 1 } },
    errors: [403, 404, 409, 428],
    response: version,
    operation: `mutation($input: PolicyVersionRefInput!) { policy${action[0]!.toUpperCase()}${action.slice(1)}(input: $input) { version { ${VERSION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: camelKeys(body) }),
    result: (p) => p.version,
  });

const preview = (kind: 'preview' | 'test', summary: string, body: z.ZodObject, example: Record<string, unknown>): RestRoute =>
  operation({
    method: 'POST',
    path: `/harbor/policy/v1/${kind}`,
    summary,
    tag: policyTag,
    auth: reader,
    body,
    example: { body: example },
    response: previewResult,
    operation: `query($input: ${kind === 'preview' ? 'PolicyDraftInput' : 'PolicyTestInput'}!) { policy${kind === 'preview' ? 'Preview' : 'Test'}(input: $input) { preview { ${snakeFields('templateId predicate digestHex passed')} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: camelKeys(body) }),
    result: (p) => p.preview,
  });

export const governanceRoutes: RestRoute[] = [
  operation({
    method: 'GET',
    path: '/v1/admin/guardrails/policy',
    summary: 'The active guardrail policy of the tenant, or the unconfigured default envelope (version 0).',
    tag: guardrailTag,
    auth: reader,
    response: guardrail,
    operation: `{ guardrailPolicy { ${GUARDRAIL} } }`,
    variables: () => ({}),
  }),
  operation({
    method: 'GET',
    path: '/v1/admin/guardrails/policy/history',
    summary: 'Recent immutable guardrail policy versions, newest first.',
    tag: guardrailTag,
    auth: reader,
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).optional() }),
    response: z.object({ versions: z.array(guardrail) }),
    operation: `query($limit: Int) { guardrailPolicyHistory(limit: $limit) { ${GUARDRAIL} } }`,
    variables: ({ query }) => ({ limit: query.has('limit') ? Number(query.get('limit')) : undefined }),
    result: (p) => ({ versions: p as unknown }),
  }),
  operation({
    method: 'PUT',
    path: '/v1/admin/guardrails/policy',
    summary: 'Insert a new guardrail policy version: mode, allowed templates, raw predicates, amount rules, lifecycle confirmations, rate-limit profile.',
    tag: guardrailTag,
    auth: { principals: ['user'], admin: true },
    body: snakeBody(guardrailPolicyInput),
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
    errors: [400],
    response: guardrail,
    operation: `mutation($input: GuardrailPolicyInput!) { guardrailPolicyUpdate(input: $input) { policy { ${GUARDRAIL} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: camelKeys(body) }),
    result: (p) => p.policy,
  }),
  operation({
    method: 'GET',
    path: '/v1/admin/audit-events',
    summary: 'Redacted tenant audit events (filters: event_type, resource, decision, request_id, idempotency_key_sha256_hex, created_after, created_before; cursor pagination).',
    tag: guardrailTag,
    auth: { principals: ['user'] },
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).optional(),
      cursor: z.string().optional(),
      event_type: z.string().optional(),
      resource: z.string().optional(),
      decision: z.string().optional(),
      request_id: z.string().optional(),
      idempotency_key_sha256_hex: z.string().optional(),
      created_after: timestamp.optional(),
      created_before: timestamp.optional(),
    }),
    response: z.object({ events: z.array(auditEvent), next_cursor: z.string().nullable() }),
    operation: `query($first: Int, $after: String, $eventType: String, $resource: String, $decision: String, $requestId: String, $idempotencyKeySha256Hex: String, $createdAfter: DateTime, $createdBefore: DateTime) {
      auditEvents(first: $first, after: $after, eventType: $eventType, resource: $resource, decision: $decision, requestId: $requestId,
        idempotencyKeySha256Hex: $idempotencyKeySha256Hex, createdAfter: $createdAfter, createdBefore: $createdBefore) {
        edges { node { ${AUDIT} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => ({
      ...pageVariables(query),
      eventType: query.get('event_type') ?? undefined,
      resource: query.get('resource') ?? undefined,
      decision: query.get('decision') ?? undefined,
      requestId: query.get('request_id') ?? undefined,
      idempotencyKeySha256Hex: query.get('idempotency_key_sha256_hex') ?? undefined,
      createdAfter: query.get('created_after') ?? undefined,
      createdBefore: query.get('created_before') ?? undefined,
    }),
    result: (p) => page(p, 'events'),
  }),
  operation({
    method: 'GET',
    path: '/harbor/policy/v1/templates',
    summary: 'The managed-policy template catalogue, with parameter schemas.',
    tag: policyTag,
    auth: reader,
    response: z.object({ templates: z.array(z.object({ template_id: z.string(), title: z.string(), description: z.string(), parameters_schema: z.unknown() })) }),
    operation: `{ policyTemplates { ${snakeFields('templateId title description parametersSchema')} } }`,
    variables: () => ({}),
    result: (p) => ({ templates: p as unknown }),
  }),
  operation({
    method: 'GET',
    path: '/harbor/policy/v1/versions',
    summary: 'Versions of one template (seq, status, digest_hex), newest first, with the current head.',
    tag: policyTag,
    auth: reader,
    query: z.object({ template_id: z.string() }),
    example: { query: { template_id: 'api_response_v1' } },
    response: z.object({ template_id: z.string(), head_seq: z.number().int().nullable(), versions: z.array(version) }),
    operation: `query($templateId: String!) { policyVersions(templateId: $templateId) { ${VERSION} } }`,
    variables: ({ query }) => ({ templateId: query.get('template_id') ?? '' }),
    result: (p, { query }) => {
      const versions = p as unknown as Array<{ seq: number; status: string }>;
      return { template_id: query.get('template_id'), head_seq: versions.find((v) => v.status === 'published')?.seq ?? null, versions };
    },
  }),
  operation({
    method: 'POST',
    path: '/harbor/policy/v1/drafts',
    summary: 'Create a draft version of a template with parameters (guardrails apply).',
    tag: policyTag,
    auth: writer,
    body: snakeBody(draftInput),
    example: { body: { template_id: 'api_response_v1', parameters: { http_status_path: ['http_status'], expected_http_status: 200 } } },
    errors: [403],
    response: version,
    status: 201,
    operation: `mutation($input: PolicyDraftInput!) { policyDraftCreate(input: $input) { version { ${VERSION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: camelKeys(body) }),
    result: (p) => p.version,
  }),
  lifecycle('publish', 'Publish a draft; it becomes the head of its template.'),
  lifecycle('deprecate', 'Deprecate a published version.'),
  lifecycle('retire', 'Retire a version for good.'),
  operation({
    method: 'POST',
    path: '/harbor/policy/v1/rollback',
    summary: 'Re-publish an earlier version: 428 without confirmation preconditions, 400 for a missing/short reason, 409 when head or digest moved.',
    tag: policyTag,
    auth: writer,
    body: snakeBody(rollbackInput),
    example: {
      body: {
        template_id: 'api_response_v1',
        target_seq: 1,
        expected_current_head_seq: 2,
        expected_target_digest_hex: '0'.repeat(64),
        reason: 'version 2 rejects valid vendor responses',
        confirm: true,
      },
    },
    errors: [409, 428, 503],
    response: version,
    operation: `mutation($input: PolicyRollbackInput!) { policyRollback(input: $input) { version { ${VERSION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: camelKeys(body) }),
    result: (p) => p.version,
  }),
  preview('preview', 'Materialise a template with parameters: predicate and content digest.', snakeBody(previewInput), {
    template_id: 'api_response_v1',
    parameters: { http_status_path: ['http_status'], expected_http_status: 200 },
  }),
  preview('test', 'Evaluate a template with parameters against sample evidence.', snakeBody(testInput), {
    template_id: 'api_response_v1',
    parameters: { http_status_path: ['http_status'], expected_http_status: 200 },
    evidence: { http_status: 200 },
  }),
];
