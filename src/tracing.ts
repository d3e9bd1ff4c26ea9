import type { TracerProvider } from '@opentelemetry/api';

/**
 * OpenTelemetry tracing, off by default. It turns on when an OTLP endpoint is configured with the
 * standard variables (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and
 * OTEL_SDK_DISABLED is not true; the exporter reads the other OTEL_* variables itself (headers,
 * timeout, protocol). Spans name the GraphQL operation and its phases; variables, documents and
 * results are never recorded (they carry credentials and personal data).
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

export interface Tracing {
  provider: TracerProvider;
  shutdown(): Promise<void>;
}

/** An OTLP/HTTP exporting tracer provider, loaded only when tracing is on. */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (!tracingEnabled(env)) return undefined;
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, { Resource }] = await Promise.all([
    exportsOf(import('@opentelemetry/sdk-trace-node')),
    exportsOf(import('@opentelemetry/sdk-trace-base')),
    exportsOf(import('@opentelemetry/exporter-trace-otlp-http')),
    exportsOf(import('@opentelemetry/resources')),
  ]);
  const provider = new NodeTracerProvider({
    resource: new Resource({ 'service.name': env.OTEL_SERVICE_NAME ?? 'paybond-gateway' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  return { provider, shutdown: () => provider.shutdown() };
}

/**
 * The exports of a CommonJS package loaded with import(): Node (and tsx) give them as names and as
 * `default`; the esbuild bundle that `npm start` runs gives them as `default` only.
 */
async function exportsOf<T extends object>(loading: Promise<T>): Promise<T> {
  const loaded = (await loading) as T & { default?: unknown };
  return loaded.default !== null && typeof loaded.default === 'object' ? (loaded.default as T) : loaded;
}
