/**
 * The response bodies of the Signal routes, declared once: each top-level key with its type and
 * description. The GraphQL types are built from these (camelCase fields resolving the snake_case
 * keys the model produces) and the REST rows select them back under their snake_case names, so a
 * REST body is the model's body key for key. Nested objects (signals, gate decisions, signed
 * receipts) are JSON: signed artifacts must reach the client byte-for-byte as signed.
 */
export type FieldKind = 'String' | 'Int' | 'Float' | 'Boolean' | 'JSON' | 'StringList';
export interface BodyField {
  kind: FieldKind;
  description: string;
  nullable?: boolean;
  /** Absent from the REST body when null (optional in the SDK's types). */
  omitNull?: boolean;
}
export type Body = Record<string, BodyField>;

const field = (kind: FieldKind) => (description: string): BodyField => ({ kind, description });
const str = field('String');
const int = field('Int');
/** Integers that may exceed 32 bits (GraphQL Int is 32-bit); always whole numbers. */
const big = (description: string) => field('Float')(`${description} (an integer; may exceed 32 bits).`);
const bool = field('Boolean');
const json = field('JSON');
const strs = field('StringList');
const nullable = (f: BodyField): BodyField => ({ ...f, nullable: true });
const optional = (f: BodyField): BodyField => ({ ...f, nullable: true, omitNull: true });

const common = {
  schema_version: int('Body schema version (1).'),
  tenant_id: str('Tenant of the credential (echoed; clients check it).'),
};
const scoreModelVersion = { score_model_version: str('Score model version the body was computed for (score_version, default "1.0").') };
const operator = { operator_did: str('The operator DID exactly as requested.') };

export const RECEIPT_ENVELOPE: Body = {
  schema_version: int('Envelope schema version (1).'),
  updated_at: str('When the receipt was issued (RFC 3339; outside the signature).'),
  receipt: json('The signed reputation receipt, exactly as signed (ed25519-sha256-json-v1; see docs/signal.md).'),
};

export const SIGNED_ARTIFACT: Body = {
  kind: str('paybond.signal.explanation or paybond.signal.portfolio_snapshot.'),
  tenant_id: str('Tenant of the artifact.'),
  message_digest_hex: str('SHA-256 of the artifact payload bytes (what the signature covers).'),
  artifact: json('The signed artifact, exactly as signed (REST answers this object).'),
};

export const OVERVIEW: Body = {
  ...common,
  ...scoreModelVersion,
  checkpoint_last_ledger_seq: int('Ledger head seq when the overview was read.'),
  operator_count: int('Operators with a score.'),
  average_score: int('Mean score, rounded half up (0 without operators).'),
  confidence_bands: json('Operators per confidence band.'),
  operators_under_review: int('Operators with an open or in-review case.'),
  operators_flagged: int('Operators with at least one active fraud signal.'),
  operators: json('Per operator: operator_did, score, receipt_version, ledger_watermark_seq, reason_codes, confidence_band, terminal_intents, review_state, fraud_level, updated_at.'),
};

export const REVIEW_QUEUE: Body = {
  ...common,
  ...scoreModelVersion,
  items: json('Queue items (operator_did, review_state, review_outcome, review_reasons, anomaly_flagged, opened_at, reviewed_at, updated_at, last_receipt_message_digest_hex, fraud_signals, fraud_assessment, release_gate), most severe first.'),
};

export const TREND: Body = {
  ...common,
  ...operator,
  score_version: str('Score version of the snapshots.'),
  items: json('Snapshots newest first: receipt_version, ledger_watermark_seq/hash/at, score, reason_codes, confidence_band, support_depth_band, receipt_message_digest_hex, recorded_at.'),
  next_cursor: nullable(str('Pass as ?cursor= for older snapshots; null at the end.')),
};

export const REVIEW_STATUS: Body = {
  ...common,
  ...operator,
  ...scoreModelVersion,
  review_state: str('none, open, in_review or closed.'),
  review_outcome: str('Latest outcome of the current case (confirmed_risk, false_positive, needs_more_evidence) or none.'),
  review_reasons: strs('Why the case is open (FRAUD_REVIEW, signal codes, MANUAL_REVIEW, APPEAL).'),
  anomaly_flagged: bool('A fraud signal opened or joined the case.'),
  opened_at: str('When the case opened (RFC 3339, or "" when never).'),
  reviewed_at: str('When the last outcome was recorded (or "").'),
  updated_at: str('Last change of the case (or "").'),
  fraud_signals: json('Active score-neutral fraud signals (affects_score is always false).'),
  fraud_assessment: json('Level, highest severity, review priority and counts of the signals.'),
  release_gate: json('What the release gate would decide for a release to this operator now.'),
  maturity_tier: str('support_depth band of the current receipt (none, shallow, moderate, deep).'),
  friction: json('Appeal/replay throttle state: band (normal, elevated, throttled), recent_request_count, limit, window, next_eligible_at when throttled.'),
  annotations: json('The case log: recorded_at, event_type, summary (latest 50).'),
};

export const REVIEW_EVENT: Body = {
  ...common,
  ...operator,
  ...scoreModelVersion,
  requested_event_type: str('event_type as sent.'),
  recorded_event_type: str('What was recorded (outcome names become review_outcome_recorded).'),
  review_outcome: optional(str('The recorded outcome.')),
  signal_code: optional(str('Signal code the event is about.')),
  intent_id: optional(str('Intent the event is about.')),
  provider_event_id: optional(str('Provider event the event refers to.')),
  accepted: bool('False when an appeal or replay was throttled (REST answers 429 with this body).'),
  next_eligible_at: optional(str('When the next appeal or replay will be accepted (throttled only).')),
  friction: json('Throttle state after this request: band, recent_request_count, limit, window.'),
};

export const SCORE_MODEL_VERSIONS: Body = {
  ...common,
  ...operator,
  items: json('Per score version: score_version, scoring_model, status, model_params_sha256_hex, snapshot_count, latest_score, latest_ledger_watermark_seq, latest_receipt_message_digest_hex, updated_at.'),
};

export const FRAUD_SIGNALS: Body = {
  ...common,
  ...scoreModelVersion,
  fraud_signal_version: str('Version of the fraud signal rules.'),
  generated_at: str('When the signals were evaluated.'),
  release_gate_config: json('The tenant gate mode ({mode}).'),
  signals_affect_score: bool('Always false: fraud signals never change a score.'),
  operators: json('Flagged operators, most severe first: operator_did, fraud_signals, fraud_assessment, release_gate.'),
};

const count = (what: string) => int(`Count of ${what} in the window.`);
export const FRAUD_METRICS: Body = {
  ...common,
  ...scoreModelVersion,
  fraud_signal_version: str('Version of the fraud signal rules.'),
  window: str('24h, 7d or 30d.'),
  window_started_at: str('Start of the window (exclusive).'),
  window_ended_at: str('End of the window (now).'),
  generated_at: str('When the metrics were computed.'),
  flagged_operator_count: count('operators with a signal episode'),
  critical_signal_count: count('critical signal episodes'),
  high_signal_count: count('high signal episodes'),
  elevated_signal_count: count('elevated signal episodes'),
  review_open_count: int('Cases open now.'),
  review_load_count: int('Cases open or in review now.'),
  reviewed_count: count('recorded review outcomes'),
  labeled_outcome_count: count('confirmed_risk and false_positive labels'),
  confirmed_risk_count: count('confirmed_risk labels'),
  false_positive_count: count('false_positive labels'),
  needs_more_evidence_count: count('needs_more_evidence outcomes'),
  review_precision_bps: int('confirmed / (confirmed + false positives), basis points.'),
  false_positive_rate_bps: int('false positives / labeled, basis points.'),
  confirmed_risk_rate_bps: int('confirmed / reviewed, basis points.'),
  labeled_coverage_bps: int('Flagged operators with a label in the window / flagged operators, basis points.'),
  median_time_to_review_seconds: big('Median seconds from a signal first seen to its label'),
  refund_burst_count: count('REFUND_BURST episodes'),
  dispute_cluster_count: count('DISPUTE_CLUSTER episodes'),
  replay_appeal_abuse_count: count('REPLAY_APPEAL_ABUSE episodes'),
  critical_signal_hold_candidate_count: count('releases (or held releases) made while an uncleared critical signal fired'),
  provider_signal_count: count('provider signal episodes (none are emitted yet)'),
  stale_label_gap_seconds: big('Seconds since the last label (0 without labels)'),
  stale_signal_family_label_gap_count: int('Signal families seen in the window whose labels are stale.'),
  dispute_recall_bps: int('Of disputes resolved refund in the window, the share whose payee had a signal before the dispute opened (basis points).'),
  dispute_recall_sample_count: count('disputes resolved refund'),
  backtest_summary: str('One-line summary of the replayed backtest.'),
  release_gate_config: json('The tenant gate mode ({mode}).'),
  release_gate_metrics_reliability: json('Reliability of the review labels (tenant and per signal family).'),
};

export const RELEASE_GATE: Body = {
  ...common,
  ...scoreModelVersion,
  fraud_signal_version: str('Version of the fraud signal rules.'),
  generated_at: str('When the reliability was computed.'),
  config: json('{mode}: review_only or critical_hold.'),
  metrics_reliability: json('Reliability of the review labels: reliable, stale, sparse, counts, minima, signal_families, reasons, summary.'),
};

export const FAIRNESS: Body = {
  ...common,
  ...scoreModelVersion,
  generated_at: str('When the report was computed.'),
  protected_attributes_available: bool('Always false: no protected attributes are collected or inferred.'),
  demographic_parity_claimed: bool('Always false.'),
  statement: str('What the report can and cannot claim.'),
  fraud_signals_affect_score: bool('Always false.'),
  score_inputs: strs('Everything the score reads.'),
  assignment_slice: json('Primary and shadow versions and operators per version.'),
  min_cohort_size: int('Cells with fewer operators are suppressed.'),
  cohorts: json('Per cohort (history_age, settlement_rail, currency, amount_band): operator_count, suppressed, flag/false-positive/hold rates, mean_score.'),
};

export const SHADOW_READINESS: Body = {
  ...common,
  primary_version: str('Primary score version.'),
  shadow_version: str('Shadow score version compared ("none" when no shadow version runs).'),
  generated_at: str('When the comparison was computed.'),
  operator_count: int('Operators scored by both versions.'),
  coverage_bps: int('Share of primary-scored operators the shadow version also scored.'),
  shadow_days: int('Whole days since the shadow version’s first snapshot.'),
  spearman_rho: nullable(field('Float')('Spearman rank correlation of the two versions’ scores (null when undefined).')),
  spearman_rho_milli: nullable(int('spearman_rho × 1000, rounded.')),
  mean_abs_score_delta: field('Float')('Mean |shadow − primary| score.'),
  max_abs_score_delta: int('Largest |shadow − primary| score.'),
  band_changes: int('Operators whose score band differs.'),
  band_transitions: json('Band changes by "from->to".'),
  would_hold_added: int('Operators the shadow version would newly hold.'),
  would_hold_removed: int('Operators the shadow version would no longer hold.'),
  backtest: optional(json('Backtest precision of both versions, when available.')),
  thresholds: json('Readiness thresholds (min operators, min shadow days, min rho).'),
  ready: bool('Whether the shadow version may be promoted.'),
  reasons: strs('Why it is not ready.'),
};

export const PORTFOLIO_SUMMARY: Body = {
  ...common,
  ...scoreModelVersion,
  scoring_model: str('Scoring model (paybond.signal.v1).'),
  checkpoint_last_ledger_seq: int('Ledger head seq when the summary was read.'),
  operator_count: int('Operators with a receipt.'),
  average_score: int('Mean current score, rounded half up.'),
  total_terminal_intents: big('Terminal intents behind the current receipts'),
  total_receipted_volume_cents: big('Volume behind the current receipts, in cents'),
  operators_under_review: int('Operators with an open or in-review case.'),
};

export const AUDIT_PAGE: Body = {
  ...common,
  items: json('Signal provenance events newest first: event_id, event_type, occurred_at, actor {type, id}, decision, resource, resource_id, details (redacted: DIDs appear as keyed hashes).'),
  limit: int('Page size.'),
  offset: int('Offset of this page.'),
  next_offset: nullable(int('Offset of the next page; null at the end.')),
};

export const KEY_LIST: Body = {
  schema_version: int('Body schema version (1).'),
  signing_algorithm: str('ed25519-sha256-json-v1.'),
  keys: json('Keys Signal artifacts are signed with: key_id (RFC 7638 thumbprint), public_key_hex (raw 32 bytes), algorithm, status.'),
};

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
export const fieldName = camel;

/** The GraphQL selection that returns a body under its REST names. */
export const selection = (body: Body): string =>
  Object.keys(body)
    .map((key) => (camel(key) === key ? key : `${key}: ${camel(key)}`))
    .join(' ');

/** Keys the REST body leaves out when null. */
export const omittedWhenNull = (body: Body): string[] => Object.entries(body).flatMap(([key, f]) => (f.omitNull ? [key] : []));
