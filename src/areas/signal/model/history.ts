import { canonicalJson } from '../../../crypto/canonical-json.ts';
import { sha256Hex } from '../../../crypto/hash.ts';
import { SignalModelError } from './errors.ts';

/**
 * Inputs of the Signal model and how they are bound together.
 *
 * The ledger (one tenant's hash-chained `LedgerEvent` rows) carries types, seqs, times, amounts and
 * hashes, but its payloads only as SHA-256 digests. Three facts the score needs live in other rows:
 * the payee of an intent (`HarborIntent.payeeDid`), the predicate result of each evidence
 * submission (`IntentEvidence.predicatePassed`) and a dispute's resolution
 * (`HarborIntent.disputeOutcome`). `bindHistory` joins them onto the events and, where the row
 * holds everything the ledger payload digest covered, checks the join against that digest.
 */

/** What one `LedgerEvent` row provides (one tenant). */
export interface LedgerEventRow {
  seq: number;
  type: string;
  intentId: string | null;
  amountCents: number | null;
  currency: string | null;
  /** RFC 3339 UTC, as written by the gateway (`toISOString()`). */
  occurredAt: string;
  payloadDigest?: string;
  hash: string;
}

/** What the model needs from one `HarborIntent` row. */
export interface IntentRecord {
  intentId: string;
  payeeDid: string;
  amountCents: number;
  currency: string;
  settlementRail: string;
  disputeOutcome: DisputeOutcome | null;
  /** With these four the `intent.created` payload digest can be checked (see intentCreatedDigest). */
  principalDid?: string;
  source?: string;
  predicate?: unknown;
}

/** What the model needs from one `IntentEvidence` row; `intentId` is the intent's client id. */
export interface EvidenceRecord {
  intentId: string;
  predicatePassed: boolean;
  schemaValid: boolean;
  /** Row creation time: orders the submissions of one intent. */
  createdAt: string;
  /** With both digests the `evidence.submitted` payload digest can be checked. */
  payloadDigest?: string;
  artifactsDigest?: string;
}

export type DisputeOutcome = 'release' | 'refund' | 'split';

/** A ledger event with the facts joined onto it; `operatorDid` is the intent's payee. */
export interface SignalEvent {
  seq: number;
  type: string;
  intentId: string | null;
  operatorDid: string | null;
  /** Milliseconds since the Unix epoch, parsed from occurredAt. */
  timeMs: number;
  occurredAt: string;
  hash: string;
  /** The intent's amount and currency (from its `intent.created` event). */
  amountCents: number | null;
  currency: string | null;
  settlementRail: string | null;
  /** `evidence.submitted` only. */
  predicatePassed?: boolean;
  schemaValid?: boolean;
  /** `dispute.resolved` only. */
  disputeOutcome?: DisputeOutcome;
}

/** The ledger position a score or signal set is computed at: any event of the tenant's chain. */
export interface Watermark {
  seq: number;
  occurredAt: string;
  hash: string;
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
/** Weights are anchored at an epoch (see score.ts); times far from it would lose precision. */
const MIN_TIME_MS = Date.UTC(1970, 0, 1);
const MAX_TIME_MS = Date.UTC(2200, 0, 1);

export function parseTime(value: string, field = 'occurred_at'): number {
  const ms = RFC3339_UTC.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new SignalModelError('invalid_timestamp', `${field} is not an RFC 3339 UTC timestamp: ${value}`, { field });
  if (ms < MIN_TIME_MS || ms >= MAX_TIME_MS) {
    throw new SignalModelError('timestamp_out_of_range', `${field} is outside 1970–2200: ${value}`, { field });
  }
  return ms;
}

export const isoTime = (ms: number): string => new Date(ms).toISOString();

/** SHA-256 hex the gateway stores as `payloadDigest` of an `intent.created` event. */
export function intentCreatedDigest(intent: Required<Pick<IntentRecord, 'principalDid' | 'payeeDid' | 'settlementRail' | 'source'>> & { predicate: unknown }): string {
  return sha256Hex(
    canonicalJson({
      principal_did: intent.principalDid,
      payee_did: intent.payeeDid,
      settlement_rail: intent.settlementRail,
      source: intent.source,
      predicate: intent.predicate,
    }),
  );
}

/** The two digests an `evidence.submitted` event can carry (first or repeated submission). */
export function evidenceSubmittedDigests(evidence: Required<Pick<EvidenceRecord, 'payloadDigest' | 'artifactsDigest' | 'predicatePassed'>>): string[] {
  return ['funded', 'evidence_submitted'].map((from) =>
    sha256Hex(
      canonicalJson({
        from,
        to: 'evidence_submitted',
        payload_digest: evidence.payloadDigest,
        artifacts_digest: evidence.artifactsDigest,
        predicate_passed: evidence.predicatePassed,
      }),
    ),
  );
}

const INTENT_SCOPED = /^(intent|funding|evidence|settlement|dispute)\./;

/**
 * Join the facts onto the ledger events, in seq order. Events without an intent, and types the
 * model does not read (`spend.*`), are kept with `operatorDid` set when known, so signal windows
 * see the whole prefix. Refuses a gap-free chain in the wrong order, an intent-scoped event whose
 * intent row is missing, and any join the payload digests contradict.
 */
export function bindHistory(events: readonly LedgerEventRow[], intents: readonly IntentRecord[], evidence: readonly EvidenceRecord[] = []): SignalEvent[] {
  const intentById = new Map(intents.map((i) => [i.intentId, i]));
  const evidenceByIntent = new Map<string, EvidenceRecord[]>();
  for (const row of evidence) {
    const list = evidenceByIntent.get(row.intentId) ?? [];
    list.push(row);
    evidenceByIntent.set(row.intentId, list);
  }
  for (const list of evidenceByIntent.values()) list.sort((a, b) => parseTime(a.createdAt, 'created_at') - parseTime(b.createdAt, 'created_at'));
  const evidenceSeen = new Map<string, number>();
  const createdAmount = new Map<string, { amountCents: number | null; currency: string | null }>();
  const out: SignalEvent[] = [];
  let lastSeq = -Infinity;
  for (const event of events) {
    if (!(event.seq > lastSeq)) throw new SignalModelError('events_out_of_order', `ledger events must be in ascending seq order (seq ${event.seq} after ${lastSeq})`, { seq: event.seq });
    lastSeq = event.seq;
    const timeMs = parseTime(event.occurredAt);
    const intent = event.intentId ? intentById.get(event.intentId) : undefined;
    if (event.intentId && !intent && INTENT_SCOPED.test(event.type)) {
      throw new SignalModelError('intent_record_missing', `no intent record for ${event.intentId} (ledger seq ${event.seq})`, { seq: event.seq, intent_id: event.intentId });
    }
    const bound: SignalEvent = {
      seq: event.seq,
      type: event.type,
      intentId: event.intentId,
      operatorDid: intent?.payeeDid ?? null,
      timeMs,
      occurredAt: event.occurredAt,
      hash: event.hash,
      amountCents: intent?.amountCents ?? null,
      currency: intent?.currency ?? null,
      settlementRail: intent?.settlementRail ?? null,
    };
    if (event.type === 'intent.created' && intent) {
      // The ledger's own amount is authoritative; a differing row means the join is wrong.
      if (event.amountCents !== null && event.amountCents !== intent.amountCents) {
        throw new SignalModelError('intent_binding_mismatch', `intent ${intent.intentId}: amount differs from its intent.created event`, { seq: event.seq });
      }
      if (event.payloadDigest && intent.principalDid !== undefined && intent.source !== undefined && 'predicate' in intent) {
        const expected = intentCreatedDigest({ principalDid: intent.principalDid, payeeDid: intent.payeeDid, settlementRail: intent.settlementRail, source: intent.source, predicate: intent.predicate });
        if (expected !== event.payloadDigest) {
          throw new SignalModelError('intent_binding_mismatch', `intent ${intent.intentId}: payee/rail do not match the intent.created payload digest`, { seq: event.seq });
        }
      }
      createdAmount.set(intent.intentId, { amountCents: event.amountCents ?? intent.amountCents, currency: event.currency ?? intent.currency });
    }
    if (intent) {
      const created = createdAmount.get(intent.intentId);
      if (created) {
        bound.amountCents = created.amountCents;
        bound.currency = created.currency;
      }
    }
    if (event.type === 'evidence.submitted' && intent) {
      const index = evidenceSeen.get(intent.intentId) ?? 0;
      const row = evidenceByIntent.get(intent.intentId)?.[index];
      if (!row) throw new SignalModelError('evidence_binding_mismatch', `no evidence row for submission ${index + 1} of intent ${intent.intentId}`, { seq: event.seq });
      if (event.payloadDigest && row.payloadDigest && row.artifactsDigest && !evidenceSubmittedDigests(row as Required<EvidenceRecord>).includes(event.payloadDigest)) {
        throw new SignalModelError('evidence_binding_mismatch', `evidence row ${index + 1} of intent ${intent.intentId} does not match its ledger digest`, { seq: event.seq });
      }
      evidenceSeen.set(intent.intentId, index + 1);
      bound.predicatePassed = row.predicatePassed;
      bound.schemaValid = row.schemaValid;
    }
    if (event.type === 'dispute.resolved' && intent) {
      if (!intent.disputeOutcome) throw new SignalModelError('dispute_outcome_missing', `intent ${intent.intentId} has a dispute.resolved event but no dispute outcome`, { seq: event.seq });
      bound.disputeOutcome = intent.disputeOutcome;
    }
    out.push(bound);
  }
  return out;
}

/** The watermark of a bound event (its own position in the chain). */
export const watermarkOf = (event: Pick<SignalEvent, 'seq' | 'occurredAt' | 'hash'>): Watermark => ({ seq: event.seq, occurredAt: event.occurredAt, hash: event.hash });
