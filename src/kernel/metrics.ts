import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of this process (`GET /metrics`). Labels never carry tenant ids, credentials
 * or free text: routes are templates, operation names are bounded, error codes are the stable ones.
 * Areas add their own metrics to `metrics.registry` with the same helpers.
 */
const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'paybond_process_' });

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Admission gates of this process (one per app); the gauges read them when scraped. */
export const admissionGates = new Set<{ readonly active: number; readonly queued: number }>();
const sum = (pick: (g: { active: number; queued: number }) => number) => [...admissionGates].reduce((n, g) => n + pick(g), 0);

export const metrics = {
  registry,
  httpRequests: new Counter({ name: 'paybond_http_requests_total', help: 'HTTP requests by route template (or GraphQL operation), method and status.', labelNames: ['route', 'method', 'status'] as const, registers: [registry] }),
  httpDuration: new Histogram({ name: 'paybond_http_request_duration_seconds', help: 'Time from request to response, by route template (or GraphQL operation) and method.', labelNames: ['route', 'method'] as const, buckets: SECONDS, registers: [registry] }),
  graphqlErrors: new Counter({ name: 'paybond_graphql_errors_total', help: 'GraphQL errors and userErrors by stable error code.', labelNames: ['code'] as const, registers: [registry] }),
  dbQueryDuration: new Histogram({ name: 'paybond_db_query_duration_seconds', help: 'Database statement latency as the Prisma client sees it.', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] }),
  admissionActive: new Gauge({
    name: 'paybond_admission_active',
    help: 'Requests being processed now (admission control).',
    registers: [registry],
    collect() {
      this.set(sum((g) => g.active));
    },
  }),
  admissionQueued: new Gauge({
    name: 'paybond_admission_queued',
    help: 'Requests waiting for an admission slot.',
    registers: [registry],
    collect() {
      this.set(sum((g) => g.queued));
    },
  }),
  cacheLookups: new Counter({ name: 'paybond_cache_lookups_total', help: 'Lookups of the per-node credential and policy cache (src/kernel/cache.ts): hit, miss (read from the database), or bypass (cache off, listener down, or right after a local write).', labelNames: ['result'] as const, registers: [registry] }),
  cacheInvalidations: new Counter({ name: 'paybond_cache_invalidations_total', help: 'Invalidations received by the per-node cache (database notifications and local writes).', registers: [registry] }),
  admissionRejected: new Counter({ name: 'paybond_admission_rejected_total', help: 'Requests shed with 503 overloaded because the queue was full.', registers: [registry] }),
  rateLimitRefusals: new Counter({ name: 'paybond_rate_limit_refusals_total', help: '429 answers by route group.', labelNames: ['group'] as const, registers: [registry] }),
};

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const seenOperations = new Set<string>();
const MAX_OPERATIONS = 200;

/** A GraphQL operation name as a label: well-formed and among the first 200 seen, else "other". */
export function operationLabel(name: string | null | undefined): string {
  if (!name || !NAME.test(name)) return 'anonymous';
  if (seenOperations.has(name)) return name;
  if (seenOperations.size >= MAX_OPERATIONS) return 'other';
  seenOperations.add(name);
  return name;
}
