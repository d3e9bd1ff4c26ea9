import type { PGlite } from '@electric-sql/pglite';
import type { AdapterHandle } from '../db/adapters.ts';
import type { Logger } from '../logger.ts';
import { metrics } from './metrics.ts';

/** The channel the database notifies (prisma/migrations/…_cache_invalidation): payload = a tenant id, or '*'. */
export const CACHE_CHANNEL = 'paybond_cache';

/** An upper bound on an entry's life; invalidation, not this, is what makes a change take effect. */
const MAX_AGE_MS = 60_000;
/** After this node writes a row a cache is built from, it reads through for this long (see noteStatement). */
const LOCAL_WRITE_QUIET_MS = 1_000;
/** Entries per node; past it the cache starts over (only credentials that exist are ever stored). */
const MAX_ENTRIES = 50_000;
/** Tables whose rows the caches are built from; a write to one of them is a cache change. */
const WATCHED = /^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:"public"\.)?"(ApiKey|AgentSession|PersonalAccessToken|TrustedAgentKey|Session|Tenant|GuardrailPolicyVersion|SettlementConfigVersion)"/i;
/** Last-use stamps: the only writes to watched tables that change nothing a cache holds. */
const STAMP_ONLY = /\sSET\s+"(?:lastUsedAt|lastSeenAt)"\s*=\s*\$\d+\s+WHERE/i;

interface Entry {
  value: unknown;
  tenantId: string | null;
  at: number;
}

/**
 * Per-node caches of what every request looks up — the credential (API key, agent session, user
 * session), the tenant, the guardrail policy (with its rate-limit profile) and the settlement
 * configuration — with invalidation that reaches every node at once.
 *
 * A database trigger notifies `paybond_cache` with the tenant id whenever a row these are built from
 * changes; NOTIFY is delivered on commit to every node listening on the database (PostgreSQL:
 * a dedicated LISTEN connection; PGlite: the embedded instance's listener). A notification drops
 * the tenant's entries. The cache is only used while the listener is connected: a lost connection
 * empties it and turns it off until the listener is back, so a node never serves an entry it could
 * have missed the invalidation of.
 *
 * Two races are closed: a lookup that started before an invalidation does not store its (possibly
 * old) result (a generation counter), and a write made by this node empties the cache and reads go
 * to the database until that write's notification arrives (noteStatement). What remains is the
 * time between a commit and its notification reaching another node (the LISTEN connection's
 * latency, well under a millisecond on one host).
 */
export class TenantCache {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;
  private quietUntil = 0;
  /** A local write is waiting for its notification (the first one after it ends the read-through). */
  private awaitingNotification = false;
  private lastNotificationAt = -Infinity;
  private live = false;
  private closed = false;
  private stop: () => Promise<void> = async () => {};
  /** Counts of this cache (tests read them; /metrics has the process-wide totals). */
  readonly stats = { hits: 0, misses: 0, bypasses: 0, invalidations: 0 };

  constructor(
    private readonly log?: Logger,
    private readonly enabled = true,
  ) {}

  /** Whether entries are served (the listener is connected and caching is on). */
  get active(): boolean {
    return this.enabled && this.live && !this.closed;
  }

  /**
   * The value under `key`, or `load()`'s (stored when nothing was invalidated while it ran).
   * `tenantOf` names the tenant whose changes invalidate it (null: only a '*' notification does).
   */
  async get<T>(key: string, load: () => Promise<T>, tenantOf: (value: T) => string | null): Promise<T> {
    const now = performance.now();
    const usable = this.active && now >= this.quietUntil;
    if (usable) {
      const hit = this.entries.get(key);
      if (hit && now - hit.at < MAX_AGE_MS) {
        this.stats.hits++;
        metrics.cacheLookups.inc({ result: 'hit' });
        return hit.value as T;
      }
    }
    this.stats[usable ? 'misses' : 'bypasses']++;
    metrics.cacheLookups.inc({ result: usable ? 'miss' : 'bypass' });
    const generation = this.generation;
    const value = await load();
    if (this.active && generation === this.generation && performance.now() >= this.quietUntil && value !== null && value !== undefined) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(key, { value, tenantId: tenantOf(value), at: performance.now() });
    }
    return value;
  }

  /** Drop one tenant's entries ('*': all). */
  invalidate(tenantId: string): void {
    this.generation++;
    this.stats.invalidations++;
    metrics.cacheInvalidations.inc();
    if (tenantId === '*') {
      this.entries.clear();
      return;
    }
    for (const [key, entry] of this.entries) if (entry.tenantId === tenantId || entry.tenantId === null) this.entries.delete(key);
  }

  private readonly watchers = new Set<(tenantId: string) => void>();

  /** Call `listener` with the tenant of every notification this node receives; returns the unsubscribe. */
  onNotification(listener: (tenantId: string) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /** A database notification: the tenant's entries go, and a local write waiting for it is settled. */
  notified(tenantId: string): void {
    this.lastNotificationAt = performance.now();
    for (const watcher of this.watchers) watcher(tenantId);
    this.invalidate(tenantId);
    if (this.awaitingNotification) {
      this.awaitingNotification = false;
      this.quietUntil = 0;
    }
  }

  /**
   * Every statement this node runs (Prisma query events; `durationMs` is how long it ran): a write
   * to a watched table empties the cache, and reads go to the database until the write's
   * notification arrives (it commits) — at most LOCAL_WRITE_QUIET_MS, for a write that rolls back.
   * A notification that arrived while the statement ran is its own (an autocommitted write).
   */
  noteStatement(sql: string, durationMs = 0): void {
    if (!WATCHED.test(sql) || STAMP_ONLY.test(sql)) return;
    this.invalidate('*');
    const now = performance.now();
    if (this.lastNotificationAt >= now - durationMs - 1) return;
    this.awaitingNotification = true;
    this.quietUntil = now + LOCAL_WRITE_QUIET_MS;
  }

  private connected(): void {
    this.invalidate('*');
    this.live = true;
  }

  private disconnected(): void {
    this.live = false;
    this.invalidate('*');
  }

  /** Listen for invalidations on the database behind `handle`. */
  async start(handle: AdapterHandle): Promise<void> {
    if (!this.enabled) return;
    if (handle.pglite) return this.listenPglite(handle.pglite);
    if (handle.url) return this.listenPostgres(handle.url);
  }

  private async listenPglite(pglite: PGlite): Promise<void> {
    const unsubscribe = await pglite.listen(CACHE_CHANNEL, (payload) => this.notified(payload || '*'));
    this.connected();
    this.stop = async () => {
      this.disconnected();
      await unsubscribe().catch(() => undefined);
    };
  }

  private async listenPostgres(url: string): Promise<void> {
    const { default: pg } = await import('pg');
    let client: InstanceType<typeof pg.Client> | undefined;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: url, application_name: 'paybond-cache-listener' });
      c.on('notification', (message) => {
        if (message.channel === CACHE_CHANNEL) this.notified(message.payload || '*');
      });
      const lost = (error?: Error) => {
        if (client !== c) return;
        client = undefined;
        this.disconnected();
        c.end().catch(() => undefined);
        if (this.closed) return;
        this.log?.warn({ err: error }, 'cache invalidation listener lost; caching off until it reconnects');
        retry = setTimeout(() => void connect().catch(() => lost()), 1_000);
        retry.unref();
      };
      c.on('error', lost);
      c.on('end', () => lost());
      client = c;
      try {
        await c.connect();
        await c.query(`LISTEN ${CACHE_CHANNEL}`);
      } catch (error) {
        lost(error as Error);
        return;
      }
      if (client === c && !this.closed) this.connected();
    };
    await connect();
    this.stop = async () => {
      clearTimeout(retry);
      const c = client;
      client = undefined;
      this.disconnected();
      await c?.end().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }
}
