import { DAY, HOUR, LedgerBuilder, prng } from './ledger-builder.ts';

/**
 * A random but valid Harbor history: intents of a few payees progressing through the state
 * machine interleaved, with late disputes (settled → disputed → resolved), refunds, splits,
 * failing evidence and gaps from minutes to two months.
 */
export function randomHistory(seed: number, steps = 400, operators = ['did:example:a', 'did:example:b', 'did:example:c']): LedgerBuilder {
  const rnd = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const b = new LedgerBuilder();
  type Stage = 'created' | 'funded' | 'evidence' | 'settled' | 'refunded' | 'disputed' | 'done';
  const live = new Map<string, Stage>();
  let next = 0;
  for (let i = 0; i < steps; i++) {
    const r = rnd();
    b.advance(r < 0.6 ? Math.floor(rnd() * HOUR) : r < 0.95 ? Math.floor(rnd() * 5 * DAY) : Math.floor(rnd() * 60 * DAY));
    const active = [...live].filter(([, s]) => s !== 'done');
    if (active.length === 0 || rnd() < 0.25) {
      const id = `intent-${seed}-${next++}`;
      const amount = pick([1, 50, 999, 10_000, 250_000, Math.floor(rnd() * 1_000_000) + 1]);
      b.create(id, pick(operators), amount);
      live.set(id, 'created');
      continue;
    }
    const [id, stage] = pick(active);
    const roll = rnd();
    switch (stage) {
      case 'created':
        if (roll < 0.1) live.set(id, 'done');
        else {
          b.fund(id);
          live.set(id, 'funded');
        }
        break;
      case 'funded':
        if (roll < 0.08) {
          b.openDispute(id);
          live.set(id, 'disputed');
        } else {
          b.submitEvidence(id, rnd() < 0.8);
          live.set(id, 'evidence');
        }
        break;
      case 'evidence':
        if (roll < 0.15) b.submitEvidence(id, rnd() < 0.5);
        else if (roll < 0.75) {
          b.settle(id);
          live.set(id, 'settled');
        } else {
          b.refund(id);
          live.set(id, 'done');
        }
        break;
      case 'settled':
        if (roll < 0.3) {
          b.openDispute(id);
          live.set(id, 'disputed');
        } else live.set(id, 'done');
        break;
      case 'disputed':
        b.resolveDispute(id, pick(['release', 'refund', 'split'] as const));
        live.set(id, 'done');
        break;
      default:
        live.set(id, 'done');
    }
    if (rnd() < 0.05) b.tick();
  }
  return b;
}
