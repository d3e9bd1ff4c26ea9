import type { AssertionReplayStore, SamlRequestCache } from '../../../src/areas/sso/saml.ts';

/**
 * In-memory stand-ins for the two stores the SAML service provider needs. The gateway backs them
 * with the database (several nodes); these keep the same contract for tests.
 */

export function createMemoryRequestCache(ttlMs = 10 * 60_000): SamlRequestCache & { entries: Map<string, { value: string; createdAt: number }> } {
  const entries = new Map<string, { value: string; createdAt: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && Date.now() - entry.createdAt >= ttlMs) entries.delete(key);
    return entries.get(key);
  };
  return {
    entries,
    async saveAsync(key, value) {
      if (live(key)) return null;
      const item = { value, createdAt: Date.now() };
      entries.set(key, item);
      return item;
    },
    async getAsync(key) {
      return live(key)?.value ?? null;
    },
    async removeAsync(key) {
      if (key === null || !entries.has(key)) return null;
      entries.delete(key);
      return key;
    },
  };
}

export function createMemoryReplayStore(): AssertionReplayStore & { seen: Map<string, Date> } {
  const seen = new Map<string, Date>();
  return {
    seen,
    async markSeen(connectionId, assertionId, expiresAt) {
      const key = `${connectionId}\n${assertionId}`;
      const until = seen.get(key);
      if (until && until.getTime() > Date.now()) return false;
      seen.set(key, expiresAt);
      return true;
    },
  };
}
