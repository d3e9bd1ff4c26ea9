import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { tracingEnabled } from '../../src/tracing.ts';

const exporter = new InMemorySpanExporter();
let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway({ tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) });
  org = await createOrg(gw);
});
afterAll(() => gw.close());

describe('OpenTelemetry tracing', () => {
  it('is off unless an OTLP endpoint is configured (and OTEL_SDK_DISABLED is not true)', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  });

  it('records a span per GraphQL operation (REST routes included) without variables, documents or results', async () => {
    exporter.reset();
    await gql(gw, 'query WhoAmI { viewer { tenantId } }', {}, { token: org.apiKey.sandbox });
    await rest(gw, 'POST', '/v1/admin/api-keys', { name: 'traced' }, { token: org.admin.token.sandbox });
    const spans = exporter.getFinishedSpans();
    const named = spans.find((s) => s.attributes['graphql.execute.operationName'] === 'WhoAmI');
    expect(named, spans.map((s) => s.name).join(', ')).toBeDefined();
    expect(spans.some((s) => s.attributes['graphql.execute.operationType'] === 'mutation')).toBe(true);
    const recorded = JSON.stringify(spans.map((s) => s.attributes));
    expect(recorded).not.toContain('paybond_sk_');
    expect(recorded).not.toContain('graphql.execute.variables');
    expect(recorded).not.toContain('graphql.execute.document');
  });
});
