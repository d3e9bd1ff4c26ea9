import { createHash } from 'node:crypto';
import { bindHistory, type DisputeOutcome, type EvidenceRecord, type IntentRecord, type LedgerEventRow, type SignalEvent, type Watermark } from '../../src/areas/signal/model/index.ts';

export const T0 = Date.UTC(2026, 0, 1);
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/**
 * Builds a tenant ledger the way the Harbor lifecycle writes it (same event types and order), with
 * the intent and evidence rows beside it. Times advance only when the test says so.
 */
export class LedgerBuilder {
  readonly events: LedgerEventRow[] = [];
  readonly intents = new Map<string, IntentRecord>();
  readonly evidence: EvidenceRecord[] = [];
  now = T0;
  private prev = '0'.repeat(64);

  at(ms: number): this {
    this.now = ms;
    return this;
  }

  advance(ms: number): this {
    this.now += ms;
    return this;
  }

  private push(type: string, intentId: string | null, amountCents: number | null = null): LedgerEventRow {
    const seq = this.events.length + 1;
    const intent = intentId ? this.intents.get(intentId) : undefined;
    const row: LedgerEventRow = {
      seq,
      type,
      intentId,
      amountCents,
      currency: intent?.currency ?? null,
      occurredAt: new Date(this.now).toISOString(),
      hash: '',
    };
    row.hash = createHash('sha256').update(this.prev).update(`${seq}:${type}:${intentId}:${row.occurredAt}`).digest('hex');
    this.prev = row.hash;
    this.events.push(row);
    return row;
  }

  create(intentId: string, payeeDid: string, amountCents = 10_000, opts: { rail?: string; currency?: string } = {}): this {
    this.intents.set(intentId, { intentId, payeeDid, amountCents, currency: opts.currency ?? 'usd', settlementRail: opts.rail ?? 'x402', disputeOutcome: null });
    this.push('intent.created', intentId, amountCents);
    return this;
  }

  fund(intentId: string): this {
    this.push('funding.succeeded', intentId, this.intents.get(intentId)!.amountCents);
    return this;
  }

  submitEvidence(intentId: string, passed: boolean): this {
    this.push('evidence.submitted', intentId);
    this.evidence.push({ intentId, predicatePassed: passed, schemaValid: true, createdAt: new Date(this.now + this.evidence.length).toISOString() });
    return this;
  }

  /** requested → released → settled (the simulated rail reports finality at once). */
  settle(intentId: string, opts: { releasedAfterMs?: number } = {}): this {
    const amount = this.intents.get(intentId)!.amountCents;
    this.push('settlement.requested', intentId, amount);
    this.push('settlement.released', intentId, amount);
    if (opts.releasedAfterMs) this.advance(opts.releasedAfterMs);
    this.push('settlement.settled', intentId, amount);
    return this;
  }

  refund(intentId: string): this {
    const amount = this.intents.get(intentId)!.amountCents;
    this.push('settlement.requested', intentId, amount);
    this.push('settlement.refunded', intentId, amount);
    return this;
  }

  openDispute(intentId: string): this {
    this.push('dispute.opened', intentId);
    return this;
  }

  resolveDispute(intentId: string, outcome: DisputeOutcome): this {
    this.intents.get(intentId)!.disputeOutcome = outcome;
    this.push('dispute.resolved', intentId, this.intents.get(intentId)!.amountCents);
    return this;
  }

  /** A full happy path: created, funded, evidence passed, settled. */
  happy(intentId: string, payeeDid: string, amountCents = 10_000): this {
    return this.create(intentId, payeeDid, amountCents).fund(intentId).submitEvidence(intentId, true).settle(intentId);
  }

  /** An event of no intent (another part of the gateway); moves the watermark only. */
  tick(type = 'spend.reserved'): this {
    this.push(type, null);
    return this;
  }

  bound(): SignalEvent[] {
    return bindHistory(this.events, [...this.intents.values()], this.evidence);
  }

  watermark(seq = this.events.length): Watermark {
    const e = this.events[seq - 1]!;
    return { seq: e.seq, occurredAt: e.occurredAt, hash: e.hash };
  }
}

/** Small deterministic PRNG (mulberry32) for property tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
