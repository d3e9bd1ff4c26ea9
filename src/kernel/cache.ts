import type { PGlite } from '@electric-sql/pglite';
import type { AdapterHandle } from '../db/adapters.ts';
import type { Logger } from '../logger.ts';

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
 * to the database for a moment (noteStatement), so the node's own next request never waits on its
 * notification to arrive.
 */
export class TenantCache {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;
  private quietUntil = 0;
  private live = false;
  private closed = false;
  private stop: () => Promise<void> = async () => {};

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
    if (this.active && now >= this.quietUntil) {
      const hit = this.entries.get(key);
      if (hit && now - hit.at < MAX_AGE_MS) return hit.value as T;
    }
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
    if (tenantId === '*') {
      this.entries.clear();
      return;
    }
    for (const [key, entry] of this.entries) if (entry.tenantId === tenantId || entry.tenantId === null) this.entries.delete(key);
  }

  /**
   * Every statement this node runs (Prisma query events): a write to a watched table empties the
   * cache and makes reads go to the database for LOCAL_WRITE_QUIET_MS, covering the time until the
   * write commits and its notification arrives.
   */
  noteStatement(sql: string): void {
    if (!WATCHED.test(sql) || STAMP_ONLY.test(sql)) return;
    this.invalidate('*');
    this.quietUntil = performance.now() + LOCAL_WRITE_QUIET_MS;
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
    const unsubscribe = await pglite.listen(CACHE_CHANNEL, (payload) => this.invalidate(payload || '*'));
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
        if (message.channel === CACHE_CHANNEL) this.invalidate(message.payload || '*');
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
