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

describe('server keys', () => {
  it('adds the signing keys to a secrets file written before they existed, keeping the JWT key and server secret', async () => {
    const { default: fs } = await import('node:fs');
    const { default: os } = await import('node:os');
    const { default: path } = await import('node:path');
    const { generateKeyPairSync } = await import('node:crypto');
    const { loadServerKeys } = await import('../src/secrets.ts');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-keys-'));
    const jwt = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    fs.writeFileSync(path.join(dir, 'secrets.json'), JSON.stringify({ jwt_private_key_pem: jwt, server_secret: 's'.repeat(40) }), { mode: 0o600 });
    const config = loadConfig({ DATA_DIR: dir });
    const first = await loadServerKeys(config);
    const second = await loadServerKeys(config);
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8'));
    expect(stored.jwt_private_key_pem).toBe(jwt);
    expect(stored.server_secret).toBe('s'.repeat(40));
    expect(first.signing.publicKeyHex).toMatch(/^[0-9a-f]{64}$/);
    expect(second.signing.publicKeyHex).toBe(first.signing.publicKeyHex);
    expect(second.signalSigning.publicKeyHex).toBe(first.signalSigning.publicKeyHex);
    expect(first.signalSigning.publicKeyHex).not.toBe(first.signing.publicKeyHex);
    expect(fs.statSync(path.join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
