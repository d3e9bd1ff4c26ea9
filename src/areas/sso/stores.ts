import { registerBackgroundTask } from '../../kernel/background.ts';
import type { Runtime } from '../../context.ts';
import { SAML_REQUEST_TTL_MS, type AssertionReplayStore, type SamlDependencies, type SamlRequestCache } from './saml.ts';

/**
 * The SAML service provider's two stores, in the database so every node sees them: node-saml's
 * request-ID cache (InResponseTo) and the assertion IDs already used (replay), each row kept only
 * as long as it matters.
 */
export function samlStores(rt: Runtime): SamlDependencies {
  const requestCache: SamlRequestCache = {
    async saveAsync(key, value) {
      const now = rt.clock.now();
      try {
        await rt.db.ssoSamlRequest.create({ data: { id: key, value, createdAt: now } });
      } catch {
        return null; // already there
      }
      return { value, createdAt: now.getTime() };
    },
    async getAsync(key) {
      const row = await rt.db.ssoSamlRequest.findUnique({ where: { id: key } });
      if (!row || rt.clock.now().getTime() - row.createdAt.getTime() >= SAML_REQUEST_TTL_MS) return null;
      return row.value;
    },
    async removeAsync(key) {
      if (key === null) return null;
      const { count } = await rt.db.ssoSamlRequest.deleteMany({ where: { id: key } });
      return count ? key : null;
    },
  };
  const replayStore: AssertionReplayStore = {
    async markSeen(connectionId, assertionId, expiresAt) {
      const now = rt.clock.now();
      // An entry past its NotOnOrAfter no longer blocks (the assertion itself is expired by then).
      await rt.db.ssoAssertionSeen.deleteMany({ where: { connectionId, assertionId, notOnOrAfter: { lte: now } } });
      const rows = await rt.db.$executeRaw`INSERT INTO "SsoAssertionSeen" ("connectionId", "assertionId", "notOnOrAfter") VALUES (${connectionId}, ${assertionId}, ${expiresAt}) ON CONFLICT DO NOTHING`;
      return rows === 1;
    },
  };
  return { requestCache, replayStore };
}

/** Drop what no longer matters (expired request IDs, assertion IDs and login attempts). */
export async function sweepSsoState(rt: Runtime): Promise<void> {
  const now = rt.clock.now();
  await rt.db.ssoSamlRequest.deleteMany({ where: { createdAt: { lt: new Date(now.getTime() - SAML_REQUEST_TTL_MS) } } });
  await rt.db.ssoAssertionSeen.deleteMany({ where: { notOnOrAfter: { lt: now } } });
  await rt.db.ssoLoginAttempt.deleteMany({ where: { expiresAt: { lt: new Date(now.getTime() - 86_400_000) } } });
  await rt.db.ssoHandoff.deleteMany({ where: { expiresAt: { lt: new Date(now.getTime() - 86_400_000) } } });
}

registerBackgroundTask({ name: 'sso-sweep', intervalMs: 15 * 60_000, run: sweepSsoState });
