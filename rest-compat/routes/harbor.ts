import { z } from 'zod';
import { intentCreateInput, checkoutInput } from '../../src/areas/harbor/intents.ts';
import { disputeOpenInput, disputeResolveInput, evidenceInput, settlementInput } from '../../src/areas/harbor/lifecycle.ts';
import { completeInput, verifyInput } from '../../src/areas/harbor/capabilities.ts';
import { intentState } from '../../src/areas/harbor/state-machine.ts';
import { operation, snakeFields, type RestRoute } from '../route.ts';
import { timestamp } from '../schemas.ts';

const tag = 'Harbor';
const USER_ERRORS = 'userErrors { code message field details }';

/** One intent as REST shows it: SDK field names, `tenant` and `tenant_id` both (clients read either). */
export const INTENT = `node_id: id tenant: tenantId ${snakeFields(
  'intentId tenantId state principalDid payeeDid amountCents currency settlementRail settlementMode deadline budget evidenceSchema predicateRef allowedTools policyTemplateId policyVersionSeq source spentCents remainingCents predicatePassed settlementAction disputeOutcome createdAt updatedAt',
)} predicate_dsl: predicate`;

/** The fund answer the SDK requires (any status): the intent's identity and money, then the funding. */
const FUNDING = `intent { tenant: tenantId ${snakeFields('tenantId intentId')} node_id: id state currency ${snakeFields('amountCents settlementRail settlementMode')} }
  funded capability_token: capabilityToken funding outcome`;
const FUND_SHAPE = { spread: ['intent'], omit: ['outcome'], omitNull: ['capability_token'] };
const FUND_STATUSES = { funded: 200, pending: 202, payment_required: 402 };

const intentPath = (suffix: string) => `/harbor/intents/{intent_id}${suffix}`;
const example = { params: { intent_id: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401' } };

const intentWrite = (route: { path: string; summary: string; field: string; inputType: string | null; body?: z.ZodObject; example?: Record<string, unknown> }) =>
  operation({
    method: 'POST',
    path: route.path,
    summary: route.summary,
    tag,
    body: route.body,
    example: { ...example, body: route.example ?? {} },
    errors: [404, 409],
    operation: route.inputType
      ? `mutation($intentId: String!, $input: ${route.inputType}) { ${route.field}(intentId: $intentId, input: $input) { intent { ${INTENT} } ${USER_ERRORS} } }`
      : `mutation($intentId: String!) { ${route.field}(intentId: $intentId) { intent { ${INTENT} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ intentId: params.intent_id, input: body }),
    shape: { pick: 'intent' },
  });

const stripPayment = (value: string | null) => (value ? value.replace(/^Payment\s+/i, '') : undefined);

export const harborRoutes: RestRoute[] = [
  operation({
    method: 'POST',
    path: '/harbor/intents',
    summary: 'Create a Harbor intent from principal-signed terms, after recognition verification and guardrails.',
    tag,
    body: intentCreateInput,
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
    status: 201,
    operation: `mutation($input: IntentCreateInput!) { intentCreate(input: $input) { intent { ${INTENT} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'intent' },
  }),
  operation({
    method: 'POST',
    path: intentPath('/fund'),
    summary: 'Fund an intent: 200 funded (with a capability token), 202 pending, 402 payment required (x402/MPP challenge in headers).',
    tag,
    body: z.object({}),
    example: { ...example, body: {} },
    errors: [404, 409],
    status: { field: 'outcome', statuses: FUND_STATUSES },
    operation: `mutation($intentId: String!, $input: IntentFundInput) { intentFund(intentId: $intentId, input: $input) { ${FUNDING} ${USER_ERRORS} } }`,
    variables: ({ params, headers }) => ({
      intentId: params.intent_id,
      input: { paymentSignature: headers.get('payment-signature') ?? undefined, paymentAuthorization: stripPayment(headers.get('x-paybond-payment-authorization')) },
    }),
    shape: FUND_SHAPE,
  }),
  operation({
    method: 'POST',
    path: intentPath('/evidence'),
    summary: 'Submit evidence; the intent’s predicate is evaluated and the result recorded.',
    tag,
    body: evidenceInput,
    example: { ...example, body: { payload: { status: 'completed', cost_cents: 100 }, artifacts: [] } },
    errors: [404, 409],
    operation: `mutation($intentId: String!, $input: IntentEvidenceInput!) { intentEvidenceSubmit(intentId: $intentId, input: $input) {
      intent { tenant: tenantId tenant_id: tenantId intent_id: intentId state intent_state: state }
      ${snakeFields('predicatePassed payloadDigest artifactsDigest')} schema_validation: schemaValidation { canonical_schema_ok: canonicalSchemaOk } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ intentId: params.intent_id, input: body }),
    shape: { spread: ['intent'] },
  }),
  intentWrite({
    path: intentPath('/settlement/confirm'),
    summary: 'Confirm the settlement implied by the evaluated evidence (release or refund); an unknown rail outcome stays settlement_pending.',
    field: 'intentSettlementConfirm',
    inputType: 'IntentSettlementInput',
    body: settlementInput,
  }),
  intentWrite({
    path: '/harbor/operator/v1/intents/{intent_id}/dispute/open',
    summary: 'Open a dispute on an intent.',
    field: 'intentDisputeOpen',
    inputType: 'IntentDisputeOpenInput!',
    body: disputeOpenInput,
    example: { reason: 'vendor never delivered' },
  }),
  intentWrite({
    path: '/harbor/operator/v1/intents/{intent_id}/dispute/resolve',
    summary: 'Resolve a dispute (release, refund or split) with a rationale.',
    field: 'intentDisputeResolve',
    inputType: 'IntentDisputeResolveInput!',
    body: disputeResolveInput,
    example: { outcome: 'refund', rationale: 'no delivery evidence' },
  }),
  operation({
    method: 'GET',
    path: '/harbor/operator/v1/intents',
    summary: 'List intents (filters: status, payee_did, created_after, created_before; cursor pagination).',
    tag,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).optional(),
      cursor: z.string().max(200).optional(),
      status: intentState.optional(),
      payee_did: z.string().max(512).optional(),
      operator_did: z.string().max(512).optional(),
      created_after: timestamp.optional(),
      created_before: timestamp.optional(),
    }),
    operation: `query($first: Int, $after: String, $state: IntentState, $payeeDid: String, $createdAfter: DateTime, $createdBefore: DateTime) {
      intents(first: $first, after: $after, state: $state, payeeDid: $payeeDid, createdAfter: $createdAfter, createdBefore: $createdBefore) {
        tenant_id: tenantId edges { node { ${INTENT} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => ({
      first: query.limit ?? 20,
      after: query.cursor,
      state: query.status,
      payeeDid: query.payee_did ?? query.operator_did,
      createdAfter: query.created_after,
      createdBefore: query.created_before,
    }),
    shape: { page: 'intents' },
  }),
  operation({
    method: 'GET',
    path: '/harbor/operator/v1/intents/{intent_id}',
    summary: 'One intent of the authenticated tenant.',
    tag,
    example,
    errors: [404],
    operation: `query($intentId: String!) { intent(intentId: $intentId) { ${INTENT} } }`,
    variables: ({ params }) => ({ intentId: params.intent_id }),
  }),
  operation({
    method: 'POST',
    path: '/verify',
    summary: 'Capability check: allow / deny / approval-required for a spend; an allowed spend is reserved atomically.',
    tag,
    body: verifyInput,
    example: { body: { intent_id: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401', token: 'capability token from funding', operation: 'vendor.lookup', requested_spend_cents: 250 } },
    errors: [404],
    operation: `mutation($input: CapabilityVerifyInput!) { capabilityVerify(input: $input) { decision {
      tenant ${snakeFields('tenantId intentId allow code message decisionId remainingCents reasonCodes auditId')} spend_scope: spendScope { ${snakeFields('scopeType scopeKey')} } } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'decision', omitNull: ['audit_id'] },
  }),
  operation({
    method: 'POST',
    path: '/v1/spend/decisions/{decision_id}/complete',
    summary: 'Finish a reserved spend decision: consumed keeps it, released returns it to the budget.',
    tag,
    body: completeInput,
    example: { params: { decision_id: 'dec_0123456789abcdef' }, body: { outcome: 'consumed' } },
    errors: [404, 409],
    operation: `mutation($decisionId: String!, $input: SpendDecisionCompleteInput!) { spendDecisionComplete(decisionId: $decisionId, input: $input) { decision { ${snakeFields('decisionId status operation requestedCents completedAt')} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ decisionId: params.decision_id, input: body }),
    shape: { pick: 'decision' },
  }),
  operation({
    method: 'POST',
    path: '/api/agent/checkout/create',
    summary: 'High-risk: create and fund a payment intent for an automated checkout. Key-bound agent JWT + X-Agent-Signature; send an Idempotency-Key.',
    tag: 'Agent runtime',
    body: checkoutInput,
    example: { body: { amount_cents: 1250, currency: 'usd', recipient: 'did:web:vendor.example', memo: 'API credits', reference: 'order-42' } },
    errors: [422],
    status: { field: 'outcome', statuses: { ...FUND_STATUSES, funded: 201 } },
    operation: `mutation($input: AgentCheckoutInput!) { agentCheckoutCreate(input: $input) { ${FUNDING.replace('intent {', 'intent { recipient: payeeDid')} ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: FUND_SHAPE,
  }),
  operation({
    method: 'GET',
    path: '/v1/compliance/ledger/verify',
    summary: 'Run the ledger continuity check for the authenticated tenant: pass/fail with the first break.',
    tag: 'Compliance exports and ledger verification',
    operation: `{ ledgerVerification { ${snakeFields('tenantId status eventsChecked headSeq headHash')} first_break: firstBreak { seq reason ${snakeFields('expectedHash storedHash')} } guidance } }`,
    variables: () => ({}),
  }),
];
