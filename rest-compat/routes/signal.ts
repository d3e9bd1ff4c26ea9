import { z } from 'zod';
import * as bodies from '../../src/areas/signal/bodies.ts';
import { releaseGateInput, reviewEventInput } from '../../src/areas/signal/review.ts';
import { operation, type OperationRoute, type RestInput } from '../route.ts';

/**
 * Signal: operator reputation, signed artifacts and fraud review (docs/signal.md). Every body is
 * declared once in src/areas/signal/bodies.ts; operator DIDs arrive percent-encoded in the path
 * and are echoed exactly as decoded.
 */
const tag = 'Signal';
const USER_ERRORS = 'userErrors { code message field details }';
const DID = 'did:example:operator';
const scoreVersion = { score_version: z.string().max(32).optional() };
const versionQuery = z.object(scoreVersion);
const operatorExample = { params: { operator_did: DID } };

const read = (route: { path: string; summary: string; field: string; body: bodies.Body; versioned?: false; args?: string; argTypes?: string; variables?: (input: RestInput) => Record<string, unknown>; query?: z.ZodObject; pick?: string; example?: OperationRoute['example'] }): OperationRoute => {
  const perOperator = route.path.includes('{operator_did}');
  const versioned = route.versioned ?? true;
  const argTypes = [perOperator ? '$operatorDid: String!' : '', versioned ? '$scoreVersion: String' : '', route.argTypes ?? ''].filter(Boolean).join(', ');
  const args = [perOperator ? 'operatorDid: $operatorDid' : '', versioned ? 'scoreVersion: $scoreVersion' : '', route.args ?? ''].filter(Boolean).join(', ');
  const call = argTypes ? `query(${argTypes}) { ${route.field}(${args})` : `{ ${route.field}`;
  return operation({
    method: 'GET',
    path: route.path,
    summary: route.summary,
    tag,
    query: route.query ?? versionQuery,
    example: route.example ?? (perOperator ? operatorExample : undefined),
    errors: perOperator ? [404] : undefined,
    operation: `${call} { ${bodies.selection(route.body)} } }`,
    variables: (input) => ({ ...(perOperator ? { operatorDid: input.params.operator_did } : {}), ...(versioned ? { scoreVersion: input.query.score_version } : {}), ...route.variables?.(input) }),
    shape: route.pick ? { pick: route.pick } : { omitNull: bodies.omittedWhenNull(route.body) },
  });
};

const operatorPath = (suffix: string) => `/signal/v1/operators/{operator_did}/${suffix}`;

export const signalRoutes: OperationRoute[] = [
  read({
    path: '/reputation/{operator_did}',
    summary: 'The operator’s latest signed reputation receipt (ed25519-sha256-json-v1); 404 when it has none. ?score_version= (default 1.0).',
    field: 'signalReputation',
    body: bodies.RECEIPT_ENVELOPE,
  }),
  read({ path: '/signal/v1/overview', summary: 'Portfolio rollups and current scores, with each operator’s review state and fraud level.', field: 'signalOverview', body: bodies.OVERVIEW }),
  read({
    path: '/signal/v1/review-queue',
    summary: 'Review cases and flagged operators, most severe first (?state=none|open|in_review|closed|all, ?fraud_severity=elevated|high|critical, ?limit=1–500).',
    field: 'signalReviewQueue',
    body: bodies.REVIEW_QUEUE,
    query: z.object({ ...scoreVersion, state: z.string().max(16).optional(), fraud_severity: z.string().max(16).optional(), limit: z.coerce.number().finite().optional() }),
    argTypes: '$state: String, $fraudSeverity: String, $limit: Int',
    args: 'state: $state, fraudSeverity: $fraudSeverity, limit: $limit',
    // The SDK clamps limit to 1–500; other clients get the same clamp (a non-number is a 400).
    variables: ({ query }) => ({ state: query.state, fraudSeverity: query.fraud_severity, limit: query.limit === undefined ? undefined : Math.max(1, Math.min(500, Math.floor(query.limit as number))) }),
  }),
  read({
    path: operatorPath('trend'),
    summary: 'The operator’s append-only score snapshots, newest first (?limit=1–100, ?cursor=next_cursor).',
    field: 'signalOperatorTrend',
    body: bodies.TREND,
    query: z.object({ ...scoreVersion, limit: z.coerce.number().int().min(1).max(100).optional(), cursor: z.string().regex(/^\d{1,10}$/).optional() }),
    argTypes: '$limit: Int, $cursor: String',
    args: 'limit: $limit, cursor: $cursor',
    variables: ({ query }) => ({ limit: query.limit, cursor: query.cursor }),
  }),
  read({
    path: operatorPath('explanation'),
    summary: 'Signed “why did this move?”: exact attribution of the last score change to time decay and ledger events, with confidence.',
    field: 'signalOperatorExplanation',
    body: bodies.SIGNED_ARTIFACT,
    pick: 'artifact',
  }),
  read({
    path: operatorPath('review-status'),
    summary: 'The operator’s review state, maturity tier, annotations, friction, score-neutral fraud signals, assessment and release-gate decision.',
    field: 'signalOperatorReviewStatus',
    body: bodies.REVIEW_STATUS,
  }),
  operation({
    method: 'POST',
    path: operatorPath('review-events'),
    summary:
      'Record a review request (review_open_requested, appeal_requested, replay_requested) or outcome (review_outcome_recorded or the outcome name). 202 when accepted; a throttled appeal or replay answers 429 with this same body (accepted: false, next_eligible_at) and Retry-After, not the error envelope.',
    tag,
    body: reviewEventInput,
    query: versionQuery,
    example: { ...operatorExample, body: { event_type: 'review_open_requested', summary: 'Customer reported a duplicate charge' } },
    errors: [404, 409],
    status: { field: 'accepted', statuses: { true: 202, false: 429 } },
    operation: `mutation($operatorDid: String!, $scoreVersion: String, $input: SignalReviewEventInput!) { signalReviewEventRecord(operatorDid: $operatorDid, scoreVersion: $scoreVersion, input: $input) {
      ${bodies.selection(bodies.REVIEW_EVENT)} ${USER_ERRORS} } }`,
    variables: ({ params, query, body }) => ({ operatorDid: params.operator_did, scoreVersion: query.score_version, input: body }),
    shape: { omitNull: bodies.omittedWhenNull(bodies.REVIEW_EVENT) },
  }),
  read({ path: operatorPath('score-model-versions'), summary: 'Every score version the operator was scored with, with its latest snapshot.', field: 'signalOperatorScoreModelVersions', body: bodies.SCORE_MODEL_VERSIONS }),
  read({ path: '/signal/v1/fraud-signals', summary: 'Score-neutral fraud signals of flagged operators with their release-gate decisions.', field: 'signalFraudSignals', body: bodies.FRAUD_SIGNALS }),
  read({
    path: '/signal/v1/fraud/metrics',
    summary: 'Fraud backtesting and monitoring metrics replayed from the ledger (?window=24h|7d|30d, default 24h).',
    field: 'signalFraudMetrics',
    body: bodies.FRAUD_METRICS,
    query: z.object({ ...scoreVersion, window: z.string().max(16).optional() }),
    argTypes: '$window: String',
    args: 'window: $window',
    variables: ({ query }) => ({ window: query.window }),
  }),
  read({ path: '/signal/v1/fraud/release-gate', summary: 'The tenant’s release-gate mode and the reliability of its review metrics (tenant and per signal family).', field: 'signalReleaseGate', body: bodies.RELEASE_GATE }),
  operation({
    method: 'PUT',
    path: '/signal/v1/fraud/release-gate',
    summary: 'Tenant admin: set the release-gate mode. critical_hold answers 409 release_gate_unreliable with reasons until the review metrics and a critical-capable signal family are reliable.',
    tag,
    body: releaseGateInput,
    query: versionQuery,
    example: { body: { mode: 'review_only' } },
    errors: [409],
    operation: `mutation($scoreVersion: String, $input: SignalReleaseGateInput!) { signalReleaseGateSet(scoreVersion: $scoreVersion, input: $input) { ${bodies.selection(bodies.RELEASE_GATE)} ${USER_ERRORS} } }`,
    variables: ({ query, body }) => ({ scoreVersion: query.score_version, input: body }),
  }),
  read({ path: '/signal/v1/fairness', summary: 'Processing and fairness posture of the current assignment slice (no protected attributes exist, so no parity is claimed).', field: 'signalFairness', body: bodies.FAIRNESS, versioned: false, query: z.object({}) }),
  read({ path: '/signal/v1/shadow-readiness', summary: 'Tenant admin: shadow vs primary score version evidence for operational review (not for partner sharing).', field: 'signalShadowReadiness', body: bodies.SHADOW_READINESS, versioned: false, query: z.object({}) }),
  read({ path: '/signal/v1/portfolio/summary', summary: 'Tenant-wide aggregates of the current receipts.', field: 'signalPortfolioSummary', body: bodies.PORTFOLIO_SUMMARY }),
  read({
    path: '/signal/v1/portfolio/signed-export',
    summary: 'Signed portfolio snapshot: every operator’s current receipt digest bound to the ledger head (verify with GET /signal/v1/keys).',
    field: 'signalPortfolioSignedExport',
    body: bodies.SIGNED_ARTIFACT,
    pick: 'artifact',
  }),
  read({
    path: '/audit',
    summary: 'Tenant-scoped Signal provenance events, newest first (?operator_did=, ?limit=1–200, ?offset=).',
    field: 'signalAudit',
    body: bodies.AUDIT_PAGE,
    versioned: false,
    query: z.object({ operator_did: z.string().max(512).optional(), limit: z.coerce.number().int().min(1).max(200).optional(), offset: z.coerce.number().int().min(0).max(1_000_000).optional() }),
    argTypes: '$operatorDid: String, $limit: Int, $offset: Int',
    args: 'operatorDid: $operatorDid, limit: $limit, offset: $offset',
    variables: ({ query }) => ({ operatorDid: query.operator_did, limit: query.limit, offset: query.offset }),
  }),
  read({ path: '/signal/v1/keys', summary: 'Public keys that sign Signal receipts and artifacts: pin them when verifying offline.', field: 'signalSigningKeys', body: bodies.KEY_LIST, versioned: false, query: z.object({}) }),
];
