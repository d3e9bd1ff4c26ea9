import type { TestGateway } from './gateway.ts';

/**
 * Make audit writes fail (the audit trail is "down") while everything else works. Returns a
 * function that restores the real client.
 */
export function breakAuditWrites(gw: TestGateway): () => void {
  const real = gw.runtime.db;
  const failing = { create: async () => Promise.reject(new Error('audit store unavailable (test fault)')) };
  gw.runtime.db = new Proxy(real, {
    get(target, property) {
      if (property === 'auditEvent') return failing;
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return () => {
    gw.runtime.db = real;
  };
}
