import { bootstrapInput, sandboxEvidenceInput } from '../../src/areas/sandbox/guardrails.ts';
import { simulatorEventInput } from '../../src/areas/sandbox/simulator-events.ts';
import { operation, snakeFields, type RestRoute } from '../route.ts';

const USER_ERRORS = 'userErrors { code message field details }';
const EVENT = `node_id: id ${snakeFields('eventId eventType idempotencyKey sequence tenantId environment livemode intentId settlementRail fromState toState steps createdAt')}`;
const intentExample = '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401';

export const sandboxRoutes: RestRoute[] = [
  operation({
    method: 'POST',
    path: '/v1/sandbox/simulator/events',
    summary: 'Record a sandbox simulator event for funding, release, refund, void, dispute open/resolve, or webhook rehearsal (201; 200 when the same event was recorded before). Live credentials and live provider material are refused.',
    tag: 'Sandbox simulator',
    body: simulatorEventInput,
    example: { body: { event_type: 'funding_succeeded', intent_id: intentExample, sequence: 1 } },
    errors: [404, 409, 422],
    status: { field: 'replayed', statuses: { false: 201, true: 200 } },
    operation: `mutation($input: SandboxSimulatorEventInput!) { sandboxSimulatorEventCreate(input: $input) {
      event { ${EVENT} } intent { ${snakeFields('intentId state settlementRail settlementMode settlementAction amountCents currency')} } replayed ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { spread: ['event'] },
  }),
  operation({
    method: 'POST',
    path: '/v1/sandbox/guardrails/bootstrap',
    summary: 'Create and fund a sandbox guardrail intent for one paid-tool operation (sandbox service-account API key). Returns a capability token for spendGuard / spend_guard authorization before tool work runs.',
    tag: 'Sandbox guardrails',
    body: bootstrapInput,
    example: { body: { operation: 'vendor.lookup', requested_spend_cents: 500, currency: 'usd', completion_preset: 'api_response_ok' } },
    errors: [422],
    status: 201,
    operation: `mutation($input: SandboxGuardrailBootstrapInput!) { sandboxGuardrailBootstrap(input: $input) {
      ${snakeFields('tenantId intentId')} intent { node_id: id } ${snakeFields('capabilityToken operation requestedSpendCents sandboxLifecycleStatus currency settlementRail settlementMode')}
      simulator_event: simulatorEvent { ${EVENT} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { spread: ['intent'] },
  }),
  operation({
    method: 'POST',
    path: '/v1/sandbox/guardrails/{intent_id}/evidence',
    summary: 'Submit sandbox evidence for a bootstrap intent. Returns the updated sandbox_lifecycle_status and predicate evaluation metadata; nothing settles.',
    tag: 'Sandbox guardrails',
    body: sandboxEvidenceInput,
    example: { params: { intent_id: intentExample }, body: { payload: { http_status: 200, vendor_ref_id: 'ch_1', response_digest: 'blake3:00' }, operation: 'vendor.lookup', requested_spend_cents: 500 } },
    errors: [404, 409, 422],
    operation: `mutation($intentId: String!, $input: SandboxGuardrailEvidenceInput!) { sandboxGuardrailEvidenceSubmit(intentId: $intentId, input: $input) {
      ${snakeFields('tenantId intentId')} intent { node_id: id }
      ${snakeFields('operation requestedSpendCents sandboxLifecycleStatus settlementRail settlementMode predicatePassed payloadDigest artifactsDigest')}
      schema_validation: schemaValidation { ${snakeFields('vendorSchemaOk canonicalSchemaOk qualityFieldsMissing packStale driftKinds forbiddenFieldsPresent')} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ intentId: params.intent_id, input: body }),
    shape: { spread: ['intent'] },
  }),
];
