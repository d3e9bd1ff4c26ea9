import { AsyncLocalStorage } from 'node:async_hooks';
import type { PrismaClient, Prisma } from '../generated/prisma/client.ts';

interface Scope {
  tx: Prisma.TransactionClient;
  /** False once the transaction ends: late work of the request then uses the pool again. */
  open: boolean;
  savepoints: number;
}

const scope = new AsyncLocalStorage<Scope>();

/** Every transaction memo, so a savepoint rollback can forget what the rolled-back work stored. */
const memos = new Set<WeakMap<object, Map<string, unknown>>>();

/**
 * Values a transaction has read or written, kept for the rest of that transaction (a locked ledger
 * head, a row the transaction wrote and reads again). A rolled-back savepoint of a request
 * transaction forgets the transaction's entries: its writes are undone and the row locks it took
 * are released, so nothing learnt since may be reused.
 */
export function transactionMemo<V>(): { get(tx: object, key: string): V | undefined; set(tx: object, key: string, value: V): void; forget(tx: object, key: string): void } {
  const entries = new WeakMap<object, Map<string, unknown>>();
  memos.add(entries);
  return {
    get: (tx, key) => entries.get(tx)?.get(key) as V | undefined,
    forget: (tx, key) => void entries.get(tx)?.delete(key),
    set: (tx, key, value) => {
      const map = entries.get(tx) ?? new Map<string, unknown>();
      map.set(key, value);
      entries.set(tx, map);
    },
  };
}

const bound = (owner: object, property: PropertyKey) => {
  const value = Reflect.get(owner, property);
  return typeof value === 'function' ? value.bind(owner) : value;
};

/**
 * A nested `$transaction(fn)` inside a request transaction is a savepoint: it commits with the
 * request, and if `fn` throws, only its own writes are undone (as a separate transaction would be).
 */
async function nested(current: Scope, work: unknown): Promise<unknown> {
  if (typeof work !== 'function') {
    // The batch form: an array of queries created through this client (already bound to the transaction).
    const results: unknown[] = [];
    for (const query of work as Array<Promise<unknown>>) results.push(await query);
    return results;
  }
  const name = `request_sp_${++current.savepoints}`;
  await current.tx.$executeRawUnsafe(`SAVEPOINT ${name}`);
  try {
    // No RELEASE: the savepoint's work commits with the transaction either way, and its unique name
    // keeps a later rollback to another savepoint unambiguous (one round trip fewer per write).
    return await (work as (tx: Prisma.TransactionClient) => Promise<unknown>)(current.tx);
  } catch (error) {
    for (const entries of memos) entries.delete(current.tx);
    await current.tx.$executeRawUnsafe(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
    throw error;
  }
}

/**
 * The Prisma client every area uses (`runtime.db`). Outside a request transaction it is the client
 * itself; inside one (see `inRequestTransaction`) every model call and raw statement runs in that
 * transaction, and a nested `$transaction` becomes a savepoint of it.
 */
export function requestScopedClient(db: PrismaClient): PrismaClient {
  return new Proxy(db, {
    get(target, property) {
      const current = scope.getStore();
      if (!current?.open) return bound(target, property);
      if (property === '$transaction') return (work: unknown) => nested(current, work);
      if (typeof property === 'string' && property in current.tx) return bound(current.tx, property);
      return bound(target, property);
    },
  });
}

/**
 * Run `work` (a whole GraphQL execution) in one database transaction: everything it writes through
 * `runtime.db`, and what `work` itself writes with the transaction client it receives, commits
 * together or not at all. Used by the idempotency stage so the stored response of a write commits
 * with the write (docs/ARCHITECTURE.md, "Security model").
 */
export function inRequestTransaction<T>(db: PrismaClient, work: (tx: Prisma.TransactionClient) => Promise<T>, options: { maxWait: number; timeout: number }): Promise<T> {
  return db.$transaction(async (tx) => {
    const current: Scope = { tx, open: true, savepoints: 0 };
    try {
      return await scope.run(current, () => work(tx));
    } finally {
      current.open = false;
    }
  }, options);
}
