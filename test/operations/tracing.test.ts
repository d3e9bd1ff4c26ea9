import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, gql, rest, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { tracingEnabled } from '../../src/tracing.ts';
import { runScript, startServer } from '../helpers/server.ts';

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

describe('OpenTelemetry tracing in the gateway process (npm start)', () => {
  it('exports spans over OTLP/HTTP to the endpoint OTEL_EXPORTER_OTLP_ENDPOINT names', async () => {
    // A local OTLP/HTTP receiver: the exporter POSTs JSON to <endpoint>/v1/traces.
    const received: Array<{ path: string; body: string }> = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-otel-'));
    const boot = await runScript(['scripts/bootstrap.ts', '--org', 'Traced Co', '--email', 'admin@traced.test'], { DATA_DIR: dataDir });
    expect(boot.code, boot.output).toBe(0);
    const key = /paybond_sk_sandbox_\S+/.exec(boot.output)![0];
    const server = await startServer({ DATA_DIR: dataDir, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'paybond-e2e' });
    try {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: 'query WhoAmI { viewer { tenantId } }' }),
      });
      expect(res.status).toBe(200);
      // Shutdown flushes the batch processor.
      expect(await server.stop()).toBe(0);
      const spans = received
        .filter((r) => r.path === '/v1/traces')
        .flatMap((r) => (JSON.parse(r.body) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<{ name: string; attributes: Array<{ key: string; value: { stringValue?: string } }> }> }> }> }).resourceSpans)
        .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ span, service: rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue }))));
      const whoAmI = spans.find(({ span }) => span.attributes.some((a) => a.key === 'graphql.execute.operationName' && a.value.stringValue === 'WhoAmI'));
      expect(whoAmI, `spans received: ${JSON.stringify(spans.map((s) => s.span.name))}\n${server.output()}`).toBeDefined();
      expect(whoAmI!.service).toBe('paybond-e2e');
      expect(JSON.stringify(received)).not.toContain(key);
    } finally {
      await server.stop('SIGKILL');
      receiver.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
