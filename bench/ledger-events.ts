import { createHash } from 'node:crypto';
import { GENESIS_HASH, ledgerChainHash as chainHash, ledgerEventBody as eventBody } from '../src/evidence/ledger-format.ts';

export const LEDGER_TENANT = 'ten_benchledger';
const TYPES = ['intent.created', 'funding.succeeded', 'evidence.submitted', 'settlement.requested', 'settlement.released', 'settlement.settled'];
const BASE_MS = Date.UTC(2026, 0, 1);

/** The i-th (1-based) synthetic event: deterministic, so generation and the raw baseline agree. */
export function syntheticEvent(seq: number) {
  return {
    tenantId: LEDGER_TENANT,
    seq,
    intentId: `00000000-0000-4000-8000-${String(Math.floor((seq - 1) / 6)).padStart(12, '0')}`,
    type: TYPES[(seq - 1) % TYPES.length]!,
    amountCents: 1000 + (seq % 5000),
    currency: 'usd',
    actorType: 'agent',
    actorId: 'ags_bench',
    payloadDigest: createHash('sha256').update(String(seq)).digest('hex'),
    occurredAt: new Date(BASE_MS + seq).toISOString(),
  };
}

/** Walk n synthetic events, yielding each with its chained hash. */
export function* syntheticChain(n: number) {
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const event = syntheticEvent(seq);
    const hash = chainHash(prev, eventBody(event));
    yield { ...event, prevHash: prev, hash };
    prev = hash;
  }
}
