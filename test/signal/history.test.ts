import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bindHistory, evidenceSubmittedDigests, intentCreatedDigest, parseTime, type IntentRecord, type LedgerEventRow } from '../../src/areas/signal/model/index.ts';
import { LedgerBuilder } from './ledger-builder.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('binding ledger events to intent and evidence rows', () => {
  it('joins payee, amount, predicate results and dispute outcomes onto the events', () => {
    const b = new LedgerBuilder().create('i1', 'did:example:a', 500).fund('i1').submitEvidence('i1', false).submitEvidence('i1', true).settle('i1').openDispute('i1').resolveDispute('i1', 'split');
    b.tick();
    const events = b.bound();
    expect(events.map((e) => e.operatorDid)).toEqual([...Array(9).fill('did:example:a'), null]);
    expect(events.filter((e) => e.type === 'evidence.submitted').map((e) => e.predicatePassed)).toEqual([false, true]);
    expect(events.find((e) => e.type === 'dispute.resolved')!.disputeOutcome).toBe('split');
    expect(events.every((e) => e.operatorDid === null || e.amountCents === 500)).toBe(true);
  });

  it('refuses events out of seq order, unknown intents and missing facts', () => {
    const b = new LedgerBuilder().create('i1', 'did:example:a').fund('i1');
    const intents = [...b.intents.values()];
    expect(() => bindHistory([b.events[1]!, b.events[0]!], intents)).toThrow(expect.objectContaining({ code: 'events_out_of_order' }));
    expect(() => bindHistory(b.events, [])).toThrow(expect.objectContaining({ code: 'intent_record_missing' }));
    b.submitEvidence('i1', true);
    expect(() => bindHistory(b.events, intents, [])).toThrow(expect.objectContaining({ code: 'evidence_binding_mismatch' }));
    b.openDispute('i1');
    b.events.push({ ...b.events[b.events.length - 1]!, seq: b.events.length + 1, type: 'dispute.resolved' });
    expect(() => bindHistory(b.events, intents, b.evidence)).toThrow(expect.objectContaining({ code: 'dispute_outcome_missing' }));
  });

  it('refuses an intent row whose amount differs from its intent.created event', () => {
    const b = new LedgerBuilder().create('i1', 'did:example:a', 100);
    expect(() => bindHistory(b.events, [{ ...b.intents.get('i1')!, amountCents: 999 }])).toThrow(expect.objectContaining({ code: 'intent_binding_mismatch' }));
  });

  it('checks the payee against the intent.created payload digest the gateway stores', () => {
    const predicate = { op: 'eq', path: 'status', value: 'ok' };
    const intent: IntentRecord = { intentId: 'i1', payeeDid: 'did:example:a', amountCents: 100, currency: 'usd', settlementRail: 'x402', disputeOutcome: null, principalDid: 'did:example:p', source: 'principal_signed', predicate };
    // The digest as the gateway's ledger computes it: SHA-256 of the JCS of the payload object.
    const payload = `{"payee_did":"did:example:a","predicate":{"op":"eq","path":"status","value":"ok"},"principal_did":"did:example:p","settlement_rail":"x402","source":"principal_signed"}`;
    expect(intentCreatedDigest({ ...intent, principalDid: 'did:example:p', source: 'principal_signed', predicate })).toBe(sha(payload));
    const row: LedgerEventRow = { seq: 1, type: 'intent.created', intentId: 'i1', amountCents: 100, currency: 'usd', occurredAt: '2026-01-01T00:00:00.000Z', payloadDigest: sha(payload), hash: 'h' };
    expect(bindHistory([row], [intent])[0]!.operatorDid).toBe('did:example:a');
    expect(() => bindHistory([row], [{ ...intent, payeeDid: 'did:example:mallory' }])).toThrow(expect.objectContaining({ code: 'intent_binding_mismatch' }));
  });

  it('checks evidence rows against the evidence.submitted payload digest', () => {
    const evidence = { intentId: 'i1', predicatePassed: true, schemaValid: true, createdAt: '2026-01-01T00:00:01.000Z', payloadDigest: 'ab'.repeat(32), artifactsDigest: 'cd'.repeat(32) };
    const first = `{"artifacts_digest":"${'cd'.repeat(32)}","from":"funded","payload_digest":"${'ab'.repeat(32)}","predicate_passed":true,"to":"evidence_submitted"}`;
    expect(evidenceSubmittedDigests(evidence)[0]).toBe(sha(first));
    const intent: IntentRecord = { intentId: 'i1', payeeDid: 'did:example:a', amountCents: 100, currency: 'usd', settlementRail: 'x402', disputeOutcome: null };
    const row: LedgerEventRow = { seq: 1, type: 'evidence.submitted', intentId: 'i1', amountCents: null, currency: 'usd', occurredAt: '2026-01-01T00:00:01.000Z', payloadDigest: sha(first), hash: 'h' };
    expect(bindHistory([row], [intent], [evidence])[0]!.predicatePassed).toBe(true);
    expect(() => bindHistory([row], [intent], [{ ...evidence, predicatePassed: false }])).toThrow(expect.objectContaining({ code: 'evidence_binding_mismatch' }));
  });

  it('parses only RFC 3339 UTC timestamps within range', () => {
    expect(parseTime('2026-01-01T00:00:00.123Z')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 123));
    expect(() => parseTime('2026-01-01 00:00:00')).toThrow(expect.objectContaining({ code: 'invalid_timestamp' }));
    expect(() => parseTime('2026-01-01T00:00:00+02:00')).toThrow(expect.objectContaining({ code: 'invalid_timestamp' }));
    expect(() => parseTime('2300-01-01T00:00:00Z')).toThrow(expect.objectContaining({ code: 'timestamp_out_of_range' }));
  });
});
