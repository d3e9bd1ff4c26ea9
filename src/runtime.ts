import type { Config } from './config.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Runtime } from './context.ts';
import { openDatabase, type Database } from './db.ts';
import { requestScopedClient } from './db/request-transaction.ts';
import { createLogger, type Logger } from './logger.ts';
import { outboxMailer, smtpMailer, type Mailer } from './mail.ts';
import { loadServerKeys } from './secrets.ts';
import { MemoryStore, RedisStore, type KeyValueStore } from './stores.ts';
import { startTracing } from './tracing.ts';
import { TenantCache } from './kernel/cache.ts';
import type { TracerProvider } from '@opentelemetry/api';

export interface RuntimeOverrides {
  clock?: Clock;
  mailer?: Mailer;
  log?: Logger;
  /** An already-open database (tests hand in a cloned PGlite). */
  database?: Database;
  store?: KeyValueStore;
  /** A tracer provider (tests hand in an in-memory one); otherwise OTEL_* configuration decides. */
  tracerProvider?: TracerProvider;
}

/** Build the process-wide dependencies: config → logger, keys, database, store, mailer. */
export async function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const log = overrides.log ?? createLogger(config.LOG_LEVEL);
  const clock = overrides.clock ?? systemClock;
  const keys = await loadServerKeys(config);
  const database = overrides.database ?? (await openDatabase(config, log));
  const store = overrides.store ?? (config.REDIS_URL ? await RedisStore.connect(config.REDIS_URL, clock) : new MemoryStore(clock));
  const tracing = overrides.tracerProvider ? undefined : await startTracing();
  const cache = new TenantCache(log, config.CACHE === 'on');
  // This node's own writes reach its cache at once (the notification follows on commit).
  (database.db as unknown as { $on(event: 'query', listener: (e: { query: string; duration: number }) => void): void }).$on('query', (e) => cache.noteStatement(e.query, Number(e.duration)));
  await cache.start(database.handle);
  const mailer = overrides.mailer ?? (config.SMTP_URL ? await smtpMailer(config.SMTP_URL, config.MAIL_FROM) : outboxMailer(config.dataDir, log));
  return {
    config,
    db: requestScopedClient(database.db),
    dbKind: database.handle.kind,
    clock,
    keys,
    log,
    mailer,
    store,
    cache,
    draining: false,
    tracerProvider: overrides.tracerProvider ?? tracing?.provider,
    async readiness() {
      const checks: Record<string, string> = {};
      try {
        await database.db.$queryRawUnsafe('SELECT 1');
        checks.database = 'ok';
      } catch {
        checks.database = 'unreachable';
      }
      if (store instanceof RedisStore) {
        checks.redis = await store.ping().then(
          () => 'ok',
          () => 'unreachable',
        );
      }
      return checks;
    },
    async close() {
      await cache.close();
      await store.close().catch(() => undefined);
      await tracing?.shutdown().catch(() => undefined);
      await database.close();
    },
  };
}
