import { z } from 'zod';
import { arbitrationPackage } from '../../src/areas/disputes/arbitration.ts';
import { caseAssignInput, caseCreateInput, caseEvidenceInput, caseLinkInput, caseNoteInput, caseResolveInput, DISPUTE_EXPORTER } from '../../src/areas/disputes/cases.ts';
import { caseStatus } from '../../src/areas/disputes/state-machine.ts';
import { disclosureTier } from '../../src/areas/compliance/artifacts.ts';
import { rateLimitHeaders } from '../../src/kernel/limits/limiter.ts';
import { countRouteGroup } from '../../src/plugins/rate-limits.ts';
import { handler, operation, snakeFields, type RestRoute } from '../route.ts';
import { pageQuery, pageVariables } from '../schemas.ts';

const tag = 'Dispute cases';
const USER_ERRORS = 'userErrors { code message field details }';
const CASE_ID = 'dsc_0123456789abcdef01234567';
const example = { params: { case_id: CASE_ID } };

const SUMMARY = snakeFields(
  'caseId tenantId title reason status priority intentId linked disputeLedgerSeq linkedAt amountCents currency assigneeId outcome rationale payeeAmountCents payerAmountCents resolutionLedgerSeq createdBy closedBy createdAt updatedAt closedAt',
);
const NOTE = snakeFields('noteId body authorType authorId createdAt');
const EVIDENCE = snakeFields('evidenceId kind description uri sha256 mediaType ledgerSeq ledgerType intentId intentEvidenceId addedByType addedBy createdAt');
const ASSIGNMENT = snakeFields('assignmentId assigneeId previousAssigneeId assignedByType assignedBy createdAt');
const INTENT = snakeFields('intentId state amountCents currency settlementRail disputeOutcome updatedAt');
/** The case as the detail route answers it: with notes, evidence references, assignment history and the intent's state. */
const DETAIL = `${SUMMARY} notes { ${NOTE} } evidence { ${EVIDENCE} } assignments { ${ASSIGNMENT} } intent { ${INTENT} }`;

const caseMutation = (field: string, inputType: string) => `mutation($caseId: String!, $input: ${inputType}!) { ${field}(caseId: $caseId, input: $input) { case { ${DETAIL} } ${USER_ERRORS} } }`;

export const disputesRoutes: RestRoute[] = [
  operation({
    method: 'POST',
    path: '/v1/disputes/cases',
    summary: 'Create a dispute case (title, reason, optional intent, amount in dispute and priority).',
    tag,
    body: caseCreateInput,
    example: { body: { title: 'Vendor did not deliver', reason: 'The booking tool returned no confirmation', amount_cents: 2500, currency: 'usd', priority: 'high' } },
    errors: [404, 422],
    status: 201,
    operation: `mutation($input: DisputeCaseCreateInput!) { disputeCaseCreate(input: $input) { case { ${DETAIL} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'case' },
  }),
  operation({
    method: 'POST',
    path: '/v1/disputes/cases/link-disputed-intent',
    summary: 'Link an already-open Harbor dispute to a case row: the given open case, or a new one. Only a disputed intent; one case per dispute (a second link is a 409).',
    tag,
    body: caseLinkInput,
    example: { body: { intent_id: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401' } },
    errors: [404, 409, 422],
    operation: `mutation($input: DisputeCaseLinkInput!) { disputeCaseLinkDisputedIntent(input: $input) { case { ${DETAIL} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'case' },
  }),
  operation({
    method: 'GET',
    path: '/v1/disputes/cases',
    summary: 'List the tenant’s dispute cases, newest first (status, intent_id, limit, offset; or cursor).',
    tag,
    query: pageQuery.extend({
      status: caseStatus.optional(),
      intent_id: z.string().min(1).max(200).optional(),
      offset: z.coerce.number().int().min(0).max(100_000).optional(),
    }),
    operation: `query($first: Int, $after: String, $status: DisputeCaseStatus, $intentId: String, $offset: Int) {
      disputeCases(first: $first, after: $after, status: $status, intentId: $intentId, offset: $offset) {
        total_count: totalCount edges { node { ${SUMMARY} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => ({ ...pageVariables(query), status: query.status, intentId: query.intent_id, offset: query.offset }),
    shape: { page: 'cases' },
  }),
  operation({
    method: 'GET',
    path: '/v1/disputes/cases/{case_id}',
    summary: 'Case detail with evidence references, notes, assignment history and the linked intent’s state.',
    tag,
    example,
    errors: [404],
    operation: `query($caseId: String!) { disputeCase(caseId: $caseId) { ${DETAIL} } }`,
    variables: ({ params }) => ({ caseId: params.case_id }),
  }),
  operation({
    method: 'POST',
    path: '/v1/disputes/cases/{case_id}/resolve',
    summary: 'Resolve a case under review with an outcome (payee_wins, payer_wins, split with amounts that add up) and rationale; a linked case resolves its Harbor dispute in the same transaction.',
    tag,
    body: caseResolveInput,
    example: { ...example, body: { outcome: 'split', rationale: 'Half of the work was delivered', payee_amount_cents: 1250, payer_amount_cents: 1250 } },
    errors: [404, 409, 422],
    operation: caseMutation('disputeCaseResolve', 'DisputeCaseResolveInput'),
    variables: ({ params, body }) => ({ caseId: params.case_id, input: body }),
    shape: { pick: 'case' },
  }),
  operation({
    method: 'POST',
    path: '/v1/disputes/cases/{case_id}/assign',
    summary: 'Assign ownership to a member of the tenant (anyone else is a 422); the first assignment moves the case to under_review.',
    tag,
    body: caseAssignInput,
    example: { ...example, body: { assignee_id: 'usr_0123456789abcdef01234567' } },
    errors: [404, 409, 422],
    operation: caseMutation('disputeCaseAssign', 'DisputeCaseAssignInput'),
    variables: ({ params, body }) => ({ caseId: params.case_id, input: body }),
    shape: { pick: 'case' },
  }),
  operation({
    method: 'POST',
    path: '/v1/disputes/cases/{case_id}/evidence',
    summary: 'Attach an evidence reference: a ledger event (ledger_seq, optionally its hash as sha256), an evidence submission of the case’s intent (evidence_id or payload sha256), or an external file (uri, sha256, media_type).',
    tag,
    body: caseEvidenceInput,
    example: { ...example, body: { kind: 'external', uri: 'https://files.example.com/receipt.pdf', sha256: 'a'.repeat(64), media_type: 'application/pdf', description: 'Vendor receipt' } },
    errors: [404, 409, 422],
    status: 201,
    operation: `mutation($caseId: String!, $input: DisputeCaseEvidenceInput!) { disputeCaseEvidenceAttach(caseId: $caseId, input: $input) { case { ${DETAIL} } evidence_reference: evidence { ${EVIDENCE} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ caseId: params.case_id, input: body }),
    shape: { spread: ['case'] },
  }),
  operation({
    method: 'POST',
    path: '/v1/disputes/cases/{case_id}/notes',
    summary: 'Append a note (append-only: author and time recorded; there is no edit or delete).',
    tag,
    body: caseNoteInput,
    example: { ...example, body: { body: 'Asked the vendor for the booking log.' } },
    errors: [404, 409],
    status: 201,
    operation: `mutation($caseId: String!, $input: DisputeCaseNoteInput!) { disputeCaseNoteAppend(caseId: $caseId, input: $input) { case { ${DETAIL} } note { ${NOTE} } ${USER_ERRORS} } }`,
    variables: ({ params, body }) => ({ caseId: params.case_id, input: body }),
    shape: { spread: ['case'] },
  }),
  handler({
    method: 'GET',
    path: '/v1/disputes/cases/{case_id}/export/arbitration',
    summary:
      'The signed arbitration package (ZIP): the case, notes, evidence references, assignments, the intent with its evidence and its ledger events with Merkle inclusion proofs and the signed checkpoint, and a signed manifest; checkable offline with paybond-verify. Rate limited (dispute_arbitration_export).',
    tag,
    auth: DISPUTE_EXPORTER,
    query: z.object({ disclosure_tier: disclosureTier.optional() }),
    example,
    errors: [404, 429],
    response: z.string(),
    contentType: 'application/zip',
    handle: async (input, { runtime, requestId, principal }) => {
      const ctx = { runtime, requestId, principal: principal! };
      const state = await countRouteGroup(runtime, ctx, principal!.tenantId, 'dispute_arbitration_export');
      const pkg = await arbitrationPackage(ctx, input.params.case_id!, (input.query.disclosure_tier as z.infer<typeof disclosureTier> | undefined) ?? 'standard');
      return new Response(new Uint8Array(pkg.bytes), {
        status: 200,
        headers: {
          ...(state ? rateLimitHeaders(state) : {}),
          'content-type': 'application/zip',
          'content-length': String(pkg.bytes.length),
          'content-disposition': `attachment; filename="paybond-arbitration-${pkg.caseId}-${pkg.packageId}.zip"`,
          etag: `"${pkg.summary.bundleSha256}"`,
          'cache-control': 'private, no-store',
        },
      });
    },
  }),
];
