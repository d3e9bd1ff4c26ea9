import { z } from 'zod';
import { intentCreateInput, checkoutInput } from '../../src/domain/harbor/intents.ts';
import { disputeOpenInput, disputeResolveInput, evidenceInput, settlementInput } from '../../src/domain/harbor/lifecycle.ts';
import { completeInput, verifyInput } from '../../src/domain/harbor/capabilities.ts';
import { SETTLEMENT_RAILS } from '../../src/domain/harbor/rails.ts';
import { camelKeys, operation, snakeFields, type RestInput, type RestRoute } from '../route.ts';
import { page, snakeBody, timestamp } from '../schemas.ts';

const tag = 'Harbor';
const USER_ERRORS = 'userErrors { code message field details }';
const writer = { principals: ['user' as const, 'api_key' as const, 'harbor' as const, 'agent' as const], admin: true, recognition: true };
const reader = { principals: ['user' as const, 'api_key' as const, 'harbor' as const, 'pat' as const, 'agent' as const] };

/** One intent as REST shows it: SDK field names, `tenant` and `tenant_id` both (clients read either). */
export const INTENT = `node_id: id tenant: tenantId ${snakeFields(
  'intentId tenantId state principalDid payeeDid amountCents currency settlementRail settlementMode deadline budget evidenceSchema predicateRef allowedTools policyTemplateId policyVersionSeq source spentCents remainingCents predicatePassed settlementAction disputeOutcome createdAt updatedAt',
)} predicate_dsl: predicate`;

const intent = z.object({
  node_id: z.string(),
  tenant: z.string(),
  tenant_id: z.string(),
  intent_id: z.string(),
  state: z.string(),
  principal_did: z.string(),
  payee_did: z.string(),
  amount_cents: z.number().int(),
  currency: z.string(),
  settlement_rail: z.enum(SETTLEMENT_RAILS),
  settlement_mode: z.string(),
  deadline: timestamp,
  budget: z.unknown(),
  evidence_schema: z.unknown(),
  predicate_dsl: z.unknown(),
  predicate_ref: z.string().nullable(),
  allowed_tools: z.array(z.string()),
  policy_template_id: z.string().nullable(),
  policy_version_seq: z.number().int().nullable(),
  source: z.string(),
  spent_cents: z.number().int(),
  remaining_cents: z.number().int(),
  predicate_passed: z.boolean().nullable(),
  settlement_action: z.string().nullable(),
  dispute_outcome: z.string().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});

const FUNDING = `intent { ${INTENT} } funded httpStatus capabilityToken funding`;
const fundResponse = z.object({
  tenant: z.string(),
  tenant_id: z.string(),
  intent_id: z.string(),
  node_id: z.string(),
  state: z.string(),
  currency: z.string(),
  amount_cents: z.number().int(),
  funded: z.boolean(),
  settlement_rail: z.enum(SETTLEMENT_RAILS),
  settlement_mode: z.string(),
  capability_token: z.string().optional(),
  funding: z.record(z.string(), z.unknown()),
});

/** The fund answer the SDK requires (any status): never more, never less. */
function fundBody(p: Record<string, unknown>) {
  const i = p.intent as z.infer<typeof intent>;
  return {
    tenant: i.tenant,
    tenant_id: i.tenant_id,
    intent_id: i.intent_id,
    node_id: i.node_id,
    state: i.state,
    currency: i.currency,
    amount_cents: i.amount_cents,
    funded: p.funded,
    settlement_rail: i.settlement_rail,
    settlement_mode: i.settlement_mode,
    ...(p.capabilityToken ? { capability_token: p.capabilityToken } : {}),
    funding: p.funding,
  };
}

const intentPath = (suffix: string) => `/harbor/intents/{intent_id}${suffix}`;
const example = { params: { intent_id: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401' } };
const stripPayment = (value: string | null) => (value ? value.replace(/^Payment\s+/i, '') : undefined);

const intentWrite = (route: {
  path: string;
  summary: string;
  field: string;
  inputType: string | null;
  body?: z.ZodType;
  example?: Record<string, unknown>;
  variables?: (i: RestInput) => Record<string, unknown>;
}) =>
  operation({
    method: 'POST',
    path: route.path,
    summary: route.summary,
    tag,
    auth: writer,
    body: route.body,
    example: { ...example, body: route.example ?? {} },
    errors: [404, 409, 422],
    response: intent,
    operation: route.inputType
      ? `mutation($intentId: String!, $input: ${route.inputType}) { ${route.field}(intentId: $intentId, input: $input) { intent { ${INTENT} } ${USER_ERRORS} } }`
      : `mutation($intentId: String!) { ${route.field}(intentId: $intentId) { intent { ${INTENT} } ${USER_ERRORS} } }`,
    variables: route.variables ?? (({ params, body }) => ({ intentId: params.intent_id, input: camelKeys(body) })),
    result: (p) => p.intent,
  });

export const harborRoutes: RestRoute[] = [
  operation({
    method: 'POST',
    path: '/harbor/intents',
    summary: 'Create a Harbor intent from principal-signed terms, after recognition verification and guardrails.',
    tag,
    auth: writer,
    body: snakeBody(intentCreateInput).extend({ policy_binding: z.object({ template_id: z.string(), version_seq: z.number().int() }).nullish() }),
    // The SDK's published create-body vector (tenant "tenant-golden").
    example: {
      body: {
        intent_id: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401',
        principal_did: 'did:principal:1',
        principal_pubkey: '0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc=',
        principal_signature: 'NcUqFsuy7oSM8YTuumYV+HJLfujVNIf1LEuSmLeoao47uCOpecDdASbZ6ZWMXa5rFIQGx4M/nrqQW4qAteP1BA==',
        payee_did: 'did:payee:1',
        payee_pubkey: 'oJql9HpnWYAv+VX43C0qFKXJnSO+l/hkEn/5ODRVpPA=',
        budget: { max: 100, a: 1 },
        currency: 'usd',
        amount_cents: 100,
        evidence_schema: { type: 'object' },
        deadline: '2030-01-02T15:04:05Z',
        predicate_dsl: { version: 1, root: { op: 'true' } },
        settlement_rail: 'stripe_connect',
        signing_version: 6,
        policy_binding: null,
        allowed_tools: ['Harbor.Evidence_Submit', 'harbor.describe'],
      },
    },
    errors: [409, 422],
    response: intent,
    status: 201,
    operation: `mutation($input: IntentCreateInput!) { intentCreate(input: $input) { intent { ${INTENT} } ${USER_ERRORS} } }`,
    variables: ({ body }) => {
      const binding = body.policy_binding as { template_id?: unknown; version_seq?: unknown } | null | undefined;
      return { input: { ...camelKeys(body), policyBinding: binding ? { templateId: binding.template_id, versionSeq: binding.version_seq } : binding } };
    },
    result: (p) => p.intent,
  }),
  operation({
    method: 'POST',
    path: intentPath('/fund'),
    summary: 'Fund an intent: 200 funded (with a capability token), 202 pending, 402 payment required (x402/MPP challenge in headers).',
    tag,
    auth: writer,
    body: z.object({}),
    example: { ...example, body: {} },
    errors: [402, 404, 409],
    response: fundResponse,
    status: (p) => (p.httpStatus as number) ?? 200,
    operation: `mutation($intentId: String!, $input: IntentFundInput) { intentFund(intentId: $intentId, input: $input) { ${FUNDING} ${USER_ERRORS} } }`,
    variables: ({ params, headers }) => ({
      intentId: params.intent_id,
      input: { paymentSignature: headers.get('payment-signature') ?? undefined, paymentAuthorization: stripPayment(headers.get('x-paybond-payment-authorization')) },
    }),
    result: fundBody,
  }),
  operation({
    method: 'POST',
    path: intentPath('/evidence'),
    summary: 'Submit evidence; the intent’s predicate is evaluated and the result recorded.',
    tag,
    auth: writer,
    body: snakeBody(evidenceInput),
    example: { ...example, body: { payload: { status: 'completed', cost_cents: 100 }, artifacts: [] } },
    errors: [404, 409],
    response: intent.pick({ tenant: true, tenant_id: true, intent_id: true, state: true }).extend({
      intent_state: z.string(),
      predicate_passed: z.boolean(),
      payload_digest: z.string(),
      artifacts_digest: z.string(),
      schema_validation: z.object({ canonical_schema_ok: z.boolean() }),
    }),
    operation: `mutation($intentId: String!, $input: IntentEvidenceInput!) { intentEvidenceSubmit(intentId: $intentId, input: $input) { intent { ${INTENT} } predicatePassed schemaValid payloadDigest artifactsDigest ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ intentId: params.intent_id, input: camelKeys(body) }),
    result: (p) => {
      const i = p.intent as z.infer<typeof intent>;
      return {
        tenant: i.tenant,
        tenant_id: i.tenant_id,
        intent_id: i.intent_id,
        state: i.state,
        intent_state: i.state,
        predicate_passed: p.predicatePassed,
        payload_digest: p.payloadDigest,
        artifacts_digest: p.artifactsDigest,
        schema_validation: { canonical_schema_ok: p.schemaValid },
      };
    },
  }),
  intentWrite({
    path: intentPath('/settlement/confirm'),
    summary: 'Confirm the settlement implied by the evaluated evidence (release or refund); an unknown rail outcome stays settlement_pending.',
    field: 'intentSettlementConfirm',
    inputType: 'IntentSettlementInput',
    body: snakeBody(settlementInput),
  }),
  intentWrite({
    path: '/harbor/operator/v1/intents/{intent_id}/dispute/open',
    summary: 'Open a dispute on an intent.',
    field: 'intentDisputeOpen',
    inputType: 'IntentDisputeOpenInput!',
    body: snakeBody(disputeOpenInput),
    example: { reason: 'vendor never delivered' },
  }),
  intentWrite({
    path: '/harbor/operator/v1/intents/{intent_id}/dispute/resolve',
    summary: 'Resolve a dispute (release, refund or split) with a rationale.',
    field: 'intentDisputeResolve',
    inputType: 'IntentDisputeResolveInput!',
    body: snakeBody(disputeResolveInput),
    example: { outcome: 'refund', rationale: 'no delivery evidence' },
  }),
  operation({
    method: 'GET',
    path: '/harbor/operator/v1/intents',
    summary: 'List intents (filters: status, payee_did, created_after, created_before; cursor pagination).',
    tag,
    auth: reader,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).optional(),
      cursor: z.string().optional(),
      status: z.string().optional(),
      payee_did: z.string().optional(),
      operator_did: z.string().optional(),
      created_after: timestamp.optional(),
      created_before: timestamp.optional(),
    }),
    response: z.object({ tenant_id: z.string(), intents: z.array(intent), next_cursor: z.string().nullable() }),
    operation: `query($first: Int, $after: String, $state: IntentState, $payeeDid: String, $createdAfter: DateTime, $createdBefore: DateTime) {
      intents(first: $first, after: $after, state: $state, payeeDid: $payeeDid, createdAfter: $createdAfter, createdBefore: $createdBefore) {
        tenant_id: tenantId edges { node { ${INTENT} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => ({
      first: query.has('limit') ? Number(query.get('limit')) : 20,
      after: query.get('cursor') ?? undefined,
      state: query.get('status') ?? undefined,
      payeeDid: query.get('payee_did') ?? query.get('operator_did') ?? undefined,
      createdAfter: query.get('created_after') ?? undefined,
      createdBefore: query.get('created_before') ?? undefined,
    }),
    result: (p) => ({ tenant_id: p.tenant_id, ...page(p, 'intents') }),
  }),
  operation({
    method: 'GET',
    path: '/harbor/operator/v1/intents/{intent_id}',
    summary: 'One intent of the authenticated tenant.',
    tag,
    auth: reader,
    example,
    errors: [404],
    response: intent,
    operation: `query($intentId: String!) { intent(intentId: $intentId) { ${INTENT} } }`,
    variables: ({ params }) => ({ intentId: params.intent_id }),
  }),
  operation({
    method: 'POST',
    path: '/verify',
    summary: 'Capability check: allow / deny / approval-required for a spend; an allowed spend is reserved atomically.',
    tag,
    auth: reader,
    body: snakeBody(verifyInput),
    example: { body: { intent_id: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401', token: 'capability token from funding', operation: 'vendor.lookup', requested_spend_cents: 250 } },
    errors: [404],
    response: z.object({
      tenant: z.string(),
      tenant_id: z.string(),
      intent_id: z.string(),
      allow: z.boolean(),
      code: z.string().nullable(),
      message: z.string().nullable(),
      decision_id: z.string().nullable(),
      remaining_cents: z.number().int().nullable(),
      reason_codes: z.array(z.string()),
      spend_scope: z.object({ scope_type: z.string(), scope_key: z.string() }),
    }),
    operation: `mutation($input: CapabilityVerifyInput!) { capabilityVerify(input: $input) { decision { tenant ${snakeFields('intentId allow code message decisionId remainingCents reasonCodes')} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: camelKeys(body) }),
    result: (p) => {
      const d = p.decision as { tenant: string; intent_id: string };
      return { ...d, tenant_id: d.tenant, spend_scope: { scope_type: 'intent', scope_key: d.intent_id } };
    },
  }),
  operation({
    method: 'POST',
    path: '/v1/spend/decisions/{decision_id}/complete',
    summary: 'Finish a reserved spend decision: consumed keeps it, released returns it to the budget.',
    tag,
    auth: reader,
    body: snakeBody(completeInput),
    example: { params: { decision_id: 'dec_0123456789abcdef' }, body: { outcome: 'consumed' } },
    errors: [404, 409],
    response: z.object({ decision_id: z.string(), status: z.string(), operation: z.string(), requested_cents: z.number().int(), completed_at: timestamp.nullable() }),
    operation: `mutation($decisionId: String!, $input: SpendDecisionCompleteInput!) { spendDecisionComplete(decisionId: $decisionId, input: $input) { decision { ${snakeFields('decisionId status operation requestedCents completedAt')} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ decisionId: params.decision_id, input: camelKeys(body) }),
    result: (p) => p.decision,
  }),
  operation({
    method: 'POST',
    path: '/api/agent/checkout/create',
    summary: 'High-risk: create and fund a payment intent for an automated checkout. Key-bound agent JWT + X-Agent-Signature; send an Idempotency-Key.',
    tag: 'Agent runtime',
    auth: { principals: ['agent'], signed: true },
    body: snakeBody(checkoutInput),
    example: { body: { amount_cents: 1250, currency: 'usd', recipient: 'did:web:vendor.example', memo: 'API credits', reference: 'order-42' } },
    errors: [402, 422],
    response: fundResponse.extend({ recipient: z.string() }),
    status: (p) => ((p.httpStatus as number) === 200 ? 201 : ((p.httpStatus as number) ?? 201)),
    operation: `mutation($input: AgentCheckoutInput!) { agentCheckoutCreate(input: $input) { ${FUNDING} ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: camelKeys(body) }),
    result: (p) => ({ ...fundBody(p), recipient: (p.intent as z.infer<typeof intent>).payee_did }),
  }),
  operation({
    method: 'GET',
    path: '/v1/compliance/ledger/verify',
    summary: 'Run the ledger continuity check for the authenticated tenant: pass/fail with the first break.',
    tag: 'Compliance exports and ledger verification',
    auth: reader,
    response: z.object({
      tenant_id: z.string(),
      status: z.enum(['pass', 'fail']),
      events_checked: z.number().int(),
      head_seq: z.number().int(),
      head_hash: z.string(),
      first_break: z.object({ seq: z.number().int(), reason: z.string(), expected_hash: z.string().nullable(), stored_hash: z.string().nullable() }).nullable(),
      guidance: z.string(),
    }),
    operation: `{ ledgerVerification { ${snakeFields('tenantId ok eventsChecked headSeq headHash')} first_break: firstBreak { seq reason ${snakeFields('expectedHash storedHash')} } } }`,
    variables: () => ({}),
    result: (p) => {
      const { ok, ...rest } = p as { ok: boolean } & Record<string, unknown>;
      return {
        ...rest,
        status: ok ? 'pass' : 'fail',
        guidance: ok
          ? 'The hash chain is continuous from genesis to the head: no event was changed, removed or reordered.'
          : 'The chain breaks at first_break.seq: treat events from there on as untrusted and investigate the database.',
      };
    },
  }),
];
