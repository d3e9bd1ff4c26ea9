import { z } from 'zod';
import { policyValidateQuery } from '../../src/areas/harbor/policy-validate.ts';
import { draftInput, previewInput, rollbackInput, testInput, versionRefInput } from '../../src/areas/harbor/policies.ts';
import { operation, snakeFields, type RestRoute } from '../route.ts';

const USER_ERRORS = 'userErrors { code message field details }';
const tag = 'Harbor policy lifecycle';
const VERSION = snakeFields('templateId seq status digestHex parameters predicate rawPredicate reason rolledBackFromSeq createdAt publishedAt');
const PARAMETERS = { http_status_path: ['http_status'], expected_http_status: 200 };

const lifecycle = (action: 'publish' | 'deprecate' | 'retire', summary: string): RestRoute =>
  operation({
    method: 'POST',
    path: `/harbor/policy/v1/${action}`,
    summary,
    tag,
    body: versionRefInput,
    example: { body: { template_id: 'api_response_v1', seq: 1 } },
    errors: [404, 409, 428],
    operation: `mutation($input: PolicyVersionRefInput!) { policy${action[0]!.toUpperCase()}${action.slice(1)}(input: $input) { version { ${VERSION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'version' },
  });

const preview = (kind: 'preview' | 'test', summary: string, body: z.ZodObject, example: Record<string, unknown>): RestRoute =>
  operation({
    method: 'POST',
    path: `/harbor/policy/v1/${kind}`,
    summary,
    tag,
    body,
    example: { body: example },
    operation: `query($input: ${kind === 'preview' ? 'PolicyDraftInput' : 'PolicyTestInput'}!) { policy${kind === 'preview' ? 'Preview' : 'Test'}(input: $input) { preview { ${kind === 'preview' ? `${snakeFields('templateId predicate materializedDsl humanSummary digestHex')}` : `${snakeFields('templateId predicate materializedDsl passed')} predicate_evaluation: predicateEvaluation { ${snakeFields('passed schemaValid amountCents templateId')} }`} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'preview' },
  });

/** Managed policy versions of Harbor intents (signing_version 7 binds to a published head). */
export const harborPolicyRoutes: RestRoute[] = [
  operation({
    method: 'POST',
    path: '/v1/policy/validate',
    summary: 'Validate a paybond.policy.yaml document (sent as JSON) against the policy schema and the tenant’s registry: valid, errors, warnings, checks (?strict=1, ?resolve_inheritance=1).',
    tag,
    body: z.looseObject({}).describe('The policy document, with its own field names.'),
    query: policyValidateQuery,
    example: { body: { version: 1, name: 'travel', default_deny: true, tools: { 'vendor.book': { side_effecting: true, evidence_preset: 'api_response_ok' } } } },
    operation: `query($document: JSON!, $strict: Boolean, $resolveInheritance: Boolean) { policyValidate(document: $document, strict: $strict, resolveInheritance: $resolveInheritance) {
      ${snakeFields('valid localValid remoteValid policyName tenantId')} errors { path code message } warnings { path code message } checks { name passed } } }`,
    variables: ({ body, query }) => ({ document: body, strict: query.strict === '1' || query.strict === 'true', resolveInheritance: query.resolve_inheritance === '1' || query.resolve_inheritance === 'true' }),
  }),
  operation({
    method: 'GET',
    path: '/harbor/policy/v1/templates',
    summary: 'The managed-policy template catalogue, with parameter schemas.',
    tag,
    operation: `{ policyTemplates { ${snakeFields('templateId title description parametersSchema')} } }`,
    variables: () => ({}),
    shape: { wrap: 'templates' },
  }),
  operation({
    method: 'GET',
    path: '/harbor/policy/v1/versions',
    summary: 'Versions of one template (seq, status, digest_hex), newest first, with the current head.',
    tag,
    query: z.object({ template_id: z.string().min(1).max(128) }),
    example: { query: { template_id: 'api_response_v1' } },
    operation: `query($templateId: String!) { policyVersions(templateId: $templateId) { ${snakeFields('templateId headSeq')} versions { ${VERSION} } } }`,
    variables: ({ query }) => ({ templateId: query.template_id }),
  }),
  operation({
    method: 'POST',
    path: '/harbor/policy/v1/drafts',
    summary: 'Create a draft version of a template with parameters (guardrails apply).',
    tag,
    body: draftInput,
    example: { body: { template_id: 'api_response_v1', parameters: PARAMETERS } },
    status: 201,
    operation: `mutation($input: PolicyDraftInput!) { policyDraftCreate(input: $input) { version { ${VERSION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'version' },
  }),
  lifecycle('publish', 'Publish a draft; it becomes the head of its template.'),
  lifecycle('deprecate', 'Deprecate a published version.'),
  lifecycle('retire', 'Retire a version for good.'),
  operation({
    method: 'POST',
    path: '/harbor/policy/v1/rollback',
    summary: 'Re-publish an earlier version: 428 without confirmation preconditions, 400 for a missing/short reason, 409 when head or digest moved.',
    tag,
    body: rollbackInput,
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
    operation: `mutation($input: PolicyRollbackInput!) { policyRollback(input: $input) { version { ${VERSION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'version' },
  }),
  preview('preview', 'Materialise a template with parameters: predicate and content digest.', previewInput, { template_id: 'api_response_v1', parameters: PARAMETERS }),
  preview('test', 'Evaluate a template with parameters against sample evidence.', testInput, { template_id: 'api_response_v1', parameters: PARAMETERS, evidence: { http_status: 200 } }),
];
