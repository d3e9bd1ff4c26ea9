import type { Plugin as YogaPlugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import { errorResponse } from '../kernel/http/envelope.ts';
import { maybeRequestState } from '../kernel/http/request-state.ts';
import { admissionGates, metrics } from '../kernel/metrics.ts';

/** Probes answer at once, however busy the gateway is. */
const UNGATED = new Set(['/healthz', '/readyz']);

export interface Gate {
  /** A release function once a slot is free; null when the queue is full (shed the request). */
  enter(): Promise<(() => void) | null>;
  readonly active: number;
  readonly queued: number;
}

/** At most `limit` holders at once, then a FIFO queue of at most `maxQueue` waiters. */
export function createGate(limit: number, maxQueue: number): Gate {
  let active = 0;
  const waiting: Array<() => void> = [];
  const ticket = () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next) next();
      else active--;
    };
  };
  return {
    enter() {
      if (active < limit) {
        active++;
        return Promise.resolve(ticket());
      }
      if (waiting.length >= maxQueue) return Promise.resolve(null);
      // A released slot passes straight to the next waiter, so `active` never dips and refills.
      return new Promise((resolve) => waiting.push(() => resolve(ticket())));
    },
    get active() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
  };
}

const releases = new WeakMap<Request, () => void>();

/** What the Node server adapter puts in the server context. */
interface NodeContext {
  req?: { socket?: { destroyed: boolean } };
  res?: { once(event: 'close', listener: () => void): unknown };
}

/**
 * Admission control: at most MAX_CONCURRENT_REQUESTS requests are processed at once, the rest wait
 * in a bounded FIFO queue; beyond MAX_QUEUED_REQUESTS the answer is 503 `overloaded` with
 * Retry-After. When dozens of requests interleave on the one JavaScript thread, each holds its
 * connection (the embedded database has only one) longer and waits for the pool once per
 * statement; admitted a few at a time they finish sooner: more throughput and a lower p99
 * (bench/README.md). The slot is taken after the body has been read (a slow client cannot hold
 * one) and given back when the response is done or the client has gone; a request whose client
 * left while it waited is dropped without running.
 */
export function useAdmission(config: Config): YogaPlugin {
  const { limit, maxQueue } = config.admission;
  if (!limit) return {};
  const gate = createGate(limit, maxQueue);
  admissionGates.add(gate);
  return {
    async onRequest({ request, url, serverContext, endResponse }) {
      if (UNGATED.has(url.pathname)) return;
      const requestId = maybeRequestState(request)?.requestId ?? '';
      const node = serverContext as NodeContext | undefined;
      const release = await gate.enter();
      if (!release) {
        metrics.admissionRejected.inc();
        endResponse(errorResponse('overloaded', 'The gateway is at capacity; retry shortly', requestId, { headers: { 'Retry-After': '1' } }));
        return;
      }
      if (node?.req?.socket?.destroyed) {
        release();
        endResponse(errorResponse('overloaded', 'The client left before its turn', requestId));
        return;
      }
      releases.set(request, release);
      // Under a real server the response's close always comes, whatever happens to the request
      // past these hooks (app.fetch callers have no socket: onResponse releases).
      node?.res?.once('close', release);
    },
    onResponse({ request }) {
      releases.get(request)?.();
    },
  };
}
