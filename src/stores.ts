import type { Redis } from 'ioredis';
import type { Clock } from './clock.ts';

/**
 * Short-lived shared state: replay nonces and rate-limit counters. In memory for one node;
 * Redis when REDIS_URL is set, so every gateway node sees the same values.
 * Both use the injected clock for window arithmetic, so tests can move time.
 */
export interface KeyValueStore {
  /** Set `key` if absent; false when it already existed (a replay). */
  putIfAbsent(key: string, ttlSeconds: number): Promise<boolean>;
  /** Count `amount` (default 1) in the fixed window that contains now; returns the count including it. */
  hit(key: string, windowSeconds: number, amount?: number): Promise<{ count: number; resetSeconds: number }>;
  close(): Promise<void>;
}

function windowOf(clock: Clock, windowSeconds: number) {
  const nowMs = clock.now().getTime();
  const windowMs = windowSeconds * 1000;
  const index = Math.floor(nowMs / windowMs);
  const resetSeconds = Math.max(1, Math.ceil(((index + 1) * windowMs - nowMs) / 1000));
  return { index, resetSeconds };
}

export class MemoryStore implements KeyValueStore {
  private readonly entries = new Map<string, { value: number; expiresAt: number }>();
  private sweepAt = 0;
  constructor(private readonly clock: Clock) {}

  private live(key: string, now: number) {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private sweep(now: number) {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 10_000;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }

  async putIfAbsent(key: string, ttlSeconds: number): Promise<boolean> {
    const now = this.clock.now().getTime();
    this.sweep(now);
    if (this.live(key, now)) return false;
    this.entries.set(key, { value: 1, expiresAt: now + ttlSeconds * 1000 });
    return true;
  }

  async hit(key: string, windowSeconds: number, amount = 1) {
    const now = this.clock.now().getTime();
    this.sweep(now);
    const { index, resetSeconds } = windowOf(this.clock, windowSeconds);
    const slot = `${key}:${index}`;
    const entry = this.live(slot, now) ?? { value: 0, expiresAt: (index + 1) * windowSeconds * 1000 };
    entry.value += amount;
    this.entries.set(slot, entry);
    return { count: entry.value, resetSeconds };
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}

export class RedisStore implements KeyValueStore {
  private constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
    private readonly prefix: string,
  ) {}

  /** Connects through ioredis, loaded only when Redis is configured. */
  static async connect(url: string, clock: Clock, prefix = 'paybond:'): Promise<RedisStore> {
    const { Redis } = await import('ioredis');
    return new RedisStore(new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false }), clock, prefix);
  }

  async putIfAbsent(key: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(this.prefix + key, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  async hit(key: string, windowSeconds: number, amount = 1) {
    const { index, resetSeconds } = windowOf(this.clock, windowSeconds);
    const slot = `${this.prefix}${key}:${index}`;
    const [[, count]] = (await this.redis.multi().incrby(slot, amount).expire(slot, windowSeconds + 1).exec()) as [[null, number]];
    return { count, resetSeconds };
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
