import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('configuration', () => {
  it('has safe defaults for the embedded mode', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 4000, migrateOnStart: true, ALLOW_SIGNUP: false, ACCESS_TOKEN_TTL_SECONDS: 900 });
    expect(config.database).toMatchObject({ kind: 'pglite' });
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('requires opting in to migrations against a shared PostgreSQL', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).migrateOnStart).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', MIGRATE_ON_START: 'true' }).migrateOnStart).toBe(true);
  });

  it('admits a few requests at a time on the embedded database, one per pooled connection on PostgreSQL', () => {
    expect(loadConfig({}).admission).toEqual({ limit: 4, maxQueue: 1000 });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).admission).toEqual({ limit: 10, maxQueue: 1000 });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', DATABASE_POOL_SIZE: '25' }).admission.limit).toBe(25);
    expect(loadConfig({ MAX_CONCURRENT_REQUESTS: '0', MAX_QUEUED_REQUESTS: '5' }).admission).toEqual({ limit: 0, maxQueue: 5 });
  });

  it.each([
    ['PORT', 'abc'],
    ['MAX_CONCURRENT_REQUESTS', '-1'],
    ['MAX_QUEUED_REQUESTS', 'lots'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://x'],
    ['ACCESS_TOKEN_TTL_SECONDS', '0'],
    ['ALLOW_SIGNUP', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['SERVER_SECRET', 'short'],
  ])('stops with one line naming %s for %j', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(name);
    expect(message.split('\n')).toHaveLength(1);
    if (name.includes('SECRET') || name.includes('URL')) expect(message).not.toContain(value);
  });
});
