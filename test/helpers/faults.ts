import type { TestGateway } from './gateway.ts';

/**
 * Make audit writes fail (the audit trail is "down") while everything else works. Returns a
 * function that restores the real client.
 */
export function breakAuditWrites(gw: TestGateway): () => void {
  const real = gw.runtime.db;
  // recordAudit writes its row with one $executeRaw INSERT INTO "AuditEvent"; that statement fails.
  const failing = (strings: TemplateStringsArray, ...values: unknown[]) =>
    strings[0]?.includes('INSERT INTO "AuditEvent"') ? Promise.reject(new Error('audit store unavailable (test fault)')) : real.$executeRaw(strings, ...values);
  gw.runtime.db = new Proxy(real, {
    get(target, property) {
      if (property === '$executeRaw') return failing;
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return () => {
    gw.runtime.db = real;
  };
}

/**
 * Stall the database: every client call made from now waits until `resume()` (then runs
 * normally). `waiting()` counts the calls held so far.
 */
export function stallDatabase(gw: TestGateway): { resume(): void; waiting(): number } {
  const real = gw.runtime.db;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let held = 0;
  const stalled = <T extends (...args: never[]) => unknown>(fn: T, self: unknown) =>
    async (...args: Parameters<T>) => {
      held++;
      await gate;
      return fn.apply(self, args);
    };
  gw.runtime.db = new Proxy(real, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value === 'function') return stalled(value as never, target);
      if (value && typeof value === 'object') {
        // A model delegate (db.user, db.apiKey…): stall its methods.
        return new Proxy(value, { get: (model, name) => (typeof model[name] === 'function' ? stalled(model[name], model) : model[name]) });
      }
      return value;
    },
  });
  return {
    resume() {
      gw.runtime.db = real;
      open();
    },
    waiting: () => held,
  };
}
