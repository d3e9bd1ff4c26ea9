import type { ServiceContext } from '../context.ts';
import type { Tx } from '../db.ts';

/**
 * In-transaction domain events. Every ledger event (src/areas/harbor/ledger.ts) and every audit
 * event (src/kernel/audit/service.ts) is published here, inside the transaction of the change it
 * records, so an observer's own writes (a webhook outbox row, a score snapshot) commit or roll back
 * with that change — never one without the other. Areas register observers at import; the area
 * registry imports every area, so all observers are in place before the first request.
 */
export type DomainEvent =
  | {
      kind: 'ledger';
      tenantId: string;
      seq: number;
      hash: string;
      intentId: string | null;
      type: string;
      amountCents: number | null;
      currency: string | null;
      occurredAt: string;
      /** The event's payload as appended (only its digest is stored in the ledger). */
      payload: unknown;
    }
  | {
      kind: 'audit';
      id: string;
      tenantId: string;
      eventType: string;
      resource: string;
      resourceId: string | null;
      decision: string;
      /** Redacted details, as stored. */
      details: unknown;
      occurredAt: Date;
    };

export type DomainEventObserver = (tx: Tx, ctx: ServiceContext, event: DomainEvent) => Promise<void>;

const observers = new Map<string, DomainEventObserver>();

/** Register an observer under a unique name (its area). Observers run in registration order. */
export function observeDomainEvents(name: string, observer: DomainEventObserver): void {
  if (observers.has(name)) throw new Error(`domain event observer ${name} is already registered`);
  observers.set(name, observer);
}

/** Run every observer in the caller's transaction; an observer that throws fails the write. */
export async function publishDomainEvent(tx: Tx, ctx: ServiceContext, event: DomainEvent): Promise<void> {
  for (const observer of observers.values()) await observer(tx, ctx, event);
}
