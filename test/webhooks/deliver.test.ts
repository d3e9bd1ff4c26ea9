import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createEvent, serializeEvent } from '../../src/areas/webhooks/catalog.ts';
import { deliverOnce, parseRetryAfter, type DeliveryRequest } from '../../src/areas/webhooks/deliver.ts';
import { activeSecrets, createSecretBox, generateSecret, issueSecret, rotateSecret } from '../../src/areas/webhooks/secrets.ts';
import { startReceiver, TLS, type Receiver } from './receiver.ts';

const DEV = { production: false, allowPrivateNetworks: true };
const STRICT = { production: false, allowPrivateNetworks: false };

const open: Receiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

async function receiver(options: Parameters<typeof startReceiver>[0] = {}): Promise<Receiver> {
  const r = await startReceiver(options);
  open.push(r);
  return r;
}

function testEvent() {
  const event = createEvent({
    type: 'webhook.test',
    tenantId: 'ten_test',
    environment: 'sandbox',
    data: { endpoint_id: 'whe_test', message: 'héllo ✓' },
    occurredAt: new Date(),
  });
  return { event, body: serializeEvent(event) };
}

function request(r: Receiver, secrets: string[], overrides: Partial<DeliveryRequest> = {}): DeliveryRequest {
  const { event, body } = testEvent();
  return { url: `${r.url}/hooks/paybond?source=test`, webhookId: event.id, body, secrets, policy: DEV, ...overrides };
}

describe('deliverOnce against a real receiver', () => {
  it('POSTs the signed JSON with Standard Webhooks headers; the receiver verifies it with the standardwebhooks library', async () => {
    const secret = generateSecret();
    const r = await receiver({ secrets: [secret], reply: () => ({ status: 204 }) });
    const req = request(r, [secret]);
    const result = await deliverOnce(req);
    expect(result).toMatchObject({ outcome: 'delivered', statusCode: 204, error: null, errorMessage: null, responseExcerpt: '' });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(r.received).toHaveLength(1);
    const got = r.received[0]!;
    expect(got.verified).toEqual([true]);
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/hooks/paybond?source=test');
    expect(got.body).toBe(req.body);
    expect(got.payload).toEqual(JSON.parse(req.body));
    expect(got.headers['webhook-id']).toBe(req.webhookId);
    expect(got.headers['webhook-timestamp']).toBe(String(result.timestamp));
    expect(Math.abs(result.timestamp - Date.now() / 1000)).toBeLessThan(5);
    expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['content-length']).toBe(String(Buffer.byteLength(req.body)));
    expect(got.headers['user-agent']).toMatch(/^Paybond-Webhooks\//);
  });

  it('a receiver holding another secret rejects the delivery', async () => {
    const r = await receiver({ secrets: [generateSecret()] });
    await deliverOnce(request(r, [generateSecret()]));
    expect(r.received[0]!.verified).toEqual([false]);
  });

  it('during a rotation overlap both secrets sign and a receiver on either verifies; after it only the new one signs', async () => {
    const box = createSecretBox(randomBytes(32));
    const issued = issueSecret(box, 'whe_rot');
    const t0 = new Date();
    const rotated = rotateSecret(issued.stored, box, 'whe_rot', { now: t0, overlapMs: 3600_000 });
    const r = await receiver({ secrets: [issued.secret, rotated.secret] });

    const during = activeSecrets(rotated.stored, box, 'whe_rot', new Date(t0.getTime() + 60_000));
    expect(during).toEqual([rotated.secret, issued.secret]);
    expect((await deliverOnce(request(r, during))).outcome).toBe('delivered');
    expect(String(r.received[0]!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(r.received[0]!.verified).toEqual([true, true]);

    const after = activeSecrets(rotated.stored, box, 'whe_rot', new Date(t0.getTime() + 3600_000));
    expect(after).toEqual([rotated.secret]);
    await deliverOnce(request(r, after));
    expect(String(r.received[1]!.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(r.received[1]!.verified).toEqual([false, true]);
  });

  it('keeps webhook-id across retries of one event, with a fresh timestamp per attempt', async () => {
    const secret = generateSecret();
    let calls = 0;
    const r = await receiver({ secrets: [secret], reply: () => (++calls === 1 ? { status: 500, body: 'boom' } : { status: 200, body: 'ok' }) });
    const req = request(r, [secret]);
    const first = await deliverOnce({ ...req, timestamp: new Date(Date.now() - 2000) });
    const second = await deliverOnce(req);
    expect(first).toMatchObject({ outcome: 'retry', statusCode: 500, error: 'http_status', responseExcerpt: 'boom' });
    expect(second).toMatchObject({ outcome: 'delivered', statusCode: 200 });
    expect(r.received.map((x) => x.headers['webhook-id'])).toEqual([req.webhookId, req.webhookId]);
    expect(Number(r.received[1]!.headers['webhook-timestamp'])).toBeGreaterThan(Number(r.received[0]!.headers['webhook-timestamp']));
    expect(r.received.map((x) => x.verified[0])).toEqual([true, true]);
  });

  it('410 Gone is outcome gone', async () => {
    const r = await receiver({ reply: () => ({ status: 410, body: 'unsubscribe' }) });
    expect(await deliverOnce(request(r, [generateSecret()]))).toMatchObject({ outcome: 'gone', statusCode: 410, error: 'http_status', responseExcerpt: 'unsubscribe' });
  });

  it('does not follow a redirect: 3xx is a failure and the target is never called', async () => {
    const r = await receiver({ reply: (x) => (x.url.startsWith('/moved') ? { status: 200 } : { status: 302, headers: { location: `${r.url}/moved` } }) });
    const result = await deliverOnce(request(r, [generateSecret()]));
    expect(result).toMatchObject({ outcome: 'retry', statusCode: 302, error: 'redirect_not_followed' });
    expect(result.errorMessage).toContain('/moved');
    expect(r.received).toHaveLength(1);
  });

  it('times out a slow receiver at the configured limit', async () => {
    const r = await receiver({ reply: () => ({ status: 200, delayMs: 5000 }) });
    const started = Date.now();
    const result = await deliverOnce(request(r, [generateSecret()], { timeoutMs: 300 }));
    expect(result).toMatchObject({ outcome: 'retry', statusCode: null, error: 'timeout', responseExcerpt: null });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.latencyMs).toBeGreaterThanOrEqual(290);
  });

  it('an answer whose status arrived counts even if its body then stalls past the timeout', async () => {
    const r = await receiver({
      reply: () => ({
        raw: (res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('partial');
        },
      }),
    });
    const result = await deliverOnce(request(r, [generateSecret()], { timeoutMs: 300 }));
    expect(result).toMatchObject({ outcome: 'delivered', statusCode: 200, error: null, responseExcerpt: 'partial' });
  });

  it('reads at most the excerpt cap of a large answer and returns without waiting for the rest', async () => {
    const r = await receiver({
      reply: () => ({
        raw: (res) => {
          res.writeHead(500);
          // 1 MiB now, and the response never ends: only the cap may be read.
          res.write(Buffer.alloc(1024 * 1024, 'x'));
        },
      }),
    });
    const result = await deliverOnce(request(r, [generateSecret()], { timeoutMs: 5000 }));
    expect(result).toMatchObject({ outcome: 'retry', statusCode: 500, error: 'http_status' });
    expect(result.responseExcerpt).toBe('x'.repeat(1024));
    expect(result.latencyMs).toBeLessThan(4000);
  });

  it('cuts the excerpt on a byte cap without leaving half a UTF-8 character', async () => {
    const r = await receiver({ reply: () => ({ status: 500, body: 'é'.repeat(1000) }) });
    const result = await deliverOnce(request(r, [generateSecret()], { excerptBytes: 1023 }));
    expect(result.responseExcerpt).toBe('é'.repeat(511));
  });

  it('replaces U+0000 in the excerpt (it is stored as PostgreSQL text)', async () => {
    const r = await receiver({ reply: () => ({ status: 500, body: Buffer.from([0x61, 0x00, 0x62]) }) });
    expect((await deliverOnce(request(r, [generateSecret()]))).responseExcerpt).toBe('a\uFFFDb');
  });

  it('reports Retry-After', async () => {
    const r = await receiver({ reply: () => ({ status: 503, headers: { 'retry-after': '120' } }) });
    expect(await deliverOnce(request(r, [generateSecret()]))).toMatchObject({ outcome: 'retry', statusCode: 503, retryAfterMs: 120_000 });
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', Date.parse('2026-01-01T00:00:00Z'))).toBe(60_000);
    expect(parseRetryAfter('soon')).toBeNull();
  });

  it('a closed port is connection_refused', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const { event, body } = testEvent();
    const result = await deliverOnce({ url: `http://127.0.0.1:${port}/`, webhookId: event.id, body, secrets: [generateSecret()], policy: DEV });
    expect(result).toMatchObject({ outcome: 'retry', statusCode: null, error: 'connection_refused' });
  });

  it('stops when the caller aborts', async () => {
    const r = await receiver({ reply: () => ({ status: 200, delayMs: 5000 }) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect(await deliverOnce(request(r, [generateSecret()], { signal: controller.signal }))).toMatchObject({ outcome: 'retry', error: 'aborted' });
  });

  it('refuses malformed input rather than sending it', async () => {
    const r = await receiver();
    await expect(deliverOnce(request(r, [generateSecret()], { webhookId: 'evt.1' }))).rejects.toMatchObject({ code: 'invalid_message_id' });
    await expect(deliverOnce(request(r, ['not-a-secret']))).rejects.toMatchObject({ code: 'invalid_secret' });
    expect(r.received).toHaveLength(0);
  });
});

describe('deliverOnce and SSRF', () => {
  const refused = ['127.0.0.1', 'localhost', '2130706433', '0x7f.1', '[::ffff:127.0.0.1]'];
  for (const host of refused) {
    it(`refuses http://${host}:<port>/ when private networks are not allowed; the receiver is never called`, async () => {
      const r = await receiver();
      const result = await deliverOnce(request(r, [generateSecret()], { url: `http://${host}:${r.port}/`, policy: STRICT }));
      expect(result).toMatchObject({ outcome: 'retry', statusCode: null, error: 'address_not_allowed', responseExcerpt: null });
      expect(r.received).toHaveLength(0);
    });
  }

  it('refuses a name whose resolver answers a private address', async () => {
    const r = await receiver();
    const lookup = async () => [{ address: '10.0.0.7', family: 4 }];
    const result = await deliverOnce(request(r, [generateSecret()], { url: `http://hooks.example.test:${r.port}/`, policy: STRICT, lookup }));
    expect(result.error).toBe('address_not_allowed');
  });

  it('production refuses http before any connection', async () => {
    const r = await receiver();
    const result = await deliverOnce(request(r, [generateSecret()], { policy: { production: true, allowPrivateNetworks: true } }));
    expect(result).toMatchObject({ outcome: 'retry', error: 'url_not_allowed' });
    expect(r.received).toHaveLength(0);
  });

  it('connects to the address that was checked: the name is resolved once, a second answer (rebinding) is never used', async () => {
    const secret = generateSecret();
    const r = await receiver({ secrets: [secret] });
    const answers = ['127.0.0.1', '10.255.255.1'];
    let calls = 0;
    const lookup = async () => [{ address: answers[Math.min(calls++, 1)]!, family: 4 }];
    const result = await deliverOnce(request(r, [secret], { url: `http://rebind.example.test:${r.port}/x`, lookup, timeoutMs: 3000 }));
    expect(result).toMatchObject({ outcome: 'delivered', statusCode: 200 });
    expect(calls).toBe(1);
    expect(r.received[0]!.headers.host).toBe(`rebind.example.test:${r.port}`);
    expect(r.received[0]!.verified).toEqual([true]);
  });

  it('over https, the pinned connection still verifies the certificate against the URL host name', async () => {
    const secret = generateSecret();
    const r = await receiver({ secrets: [secret], tls: true });
    const policy = { production: true, allowPrivateNetworks: true };
    const ok = await deliverOnce(request(r, [secret], { url: `https://localhost:${r.port}/`, policy, ca: TLS.cert }));
    expect(ok).toMatchObject({ outcome: 'delivered', statusCode: 200 });
    expect(r.received[0]!.verified).toEqual([true]);

    // Same address, a name the certificate does not cover: the TLS check fails, nothing is sent.
    const lookup = async () => [{ address: '127.0.0.1', family: 4 }];
    const wrong = await deliverOnce(request(r, [secret], { url: `https://hooks.example.test:${r.port}/`, policy, ca: TLS.cert, lookup }));
    expect(wrong).toMatchObject({ outcome: 'retry', statusCode: null, error: 'tls_error' });
    // Without the test trust anchor, the self-signed certificate is refused.
    const untrusted = await deliverOnce(request(r, [secret], { url: `https://localhost:${r.port}/`, policy }));
    expect(untrusted.error).toBe('tls_error');
    expect(r.received).toHaveLength(1);
  });

  it('the library the receiver uses rejects a body changed after signing (the test receiver really verifies)', async () => {
    const secret = generateSecret();
    const r = await receiver({ secrets: [secret] });
    const req = request(r, [secret]);
    await deliverOnce(req);
    const got = r.received[0]!;
    expect(() => new Webhook(secret).verify(`${got.body} `, got.headers as Record<string, string>)).toThrow();
  });
});
