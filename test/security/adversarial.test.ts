import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScript, startServer, type RunningServer } from '../helpers/server.ts';
import { routes } from '../../rest-compat/routes/index.ts';

/**
 * Against a real gateway process (dist/, `npm run build`): a SIGKILL under idempotent write load,
 * then every retry either replays its stored answer or runs its write once (finding 1); and a sweep
 * of every id-taking route with malformed ids, which must never answer 5xx (finding 3).
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-adversarial-'));
let server: RunningServer | undefined;
afterAll(async () => {
  await server?.stop('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const env = { DATA_DIR: dataDir, IDEMPOTENCY_LEASE_SECONDS: '1' };
const body = JSON.stringify({ template_id: 'api_response_v1', parameters: { http_status_path: ['http_status'], expected_http_status: 200 } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a real gateway process', () => {
  it('survives kill -9 under idempotent writes: every retry replays or runs once, none wedges', async () => {
    const boot = await runScript(['scripts/bootstrap.ts', '--org', 'Crash Co', '--email', 'admin@crash.test'], { DATA_DIR: dataDir });
    expect(boot.code, boot.output).toBe(0);
    const apiKey = /paybond_sk_sandbox_\S+/.exec(boot.output)![0];
    const post = (url: string, key: string) =>
      fetch(`${url}/harbor/policy/v1/drafts`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'idempotency-key': key }, body });

    server = await startServer(env);
    const keys = Array.from({ length: 16 }, (_, i) => `crash-${i}`);
    const answered = new Map<string, unknown>();
    const inflight = keys.map((key) =>
      post(server!.url, key).then(
        async (res) => {
          if (res.status === 201) answered.set(key, await res.json());
        },
        () => undefined, // the connection died with the process
      ),
    );
    // Kill as soon as the first answer is out: the others are before, inside or after their commit.
    while (answered.size === 0) await sleep(5);
    server.child.kill('SIGKILL');
    await Promise.all(inflight);
    await server.stop();

    server = await startServer(env);
    let retries = 0;
    for (const key of keys) {
      let res = await post(server.url, key);
      for (let attempt = 0; res.status === 409 && attempt < 60; attempt++) {
        expect(res.headers.get('retry-after')).toBe('1');
        retries++;
        await sleep(250);
        res = await post(server.url, key);
      }
      expect(res.status, `${key}: ${await res.clone().text()}`).toBe(201);
      const json = await res.json();
      if (answered.has(key)) {
        expect(res.headers.get('idempotent-replayed')).toBe('true');
        expect(json).toEqual(answered.get(key));
      }
    }
    // One version per key: no write ran twice, none was lost.
    const versions = await fetch(`${server.url}/harbor/policy/v1/versions?template_id=api_response_v1`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect((await versions.json()).versions).toHaveLength(keys.length);
    console.info(`kill -9 probe: ${keys.length} keys, ${answered.size} answered before the kill, ${retries} retries answered 409 first, 0 wedged, 0 doubled`);

    // Malformed ids on every id-taking route: never a 5xx.
    const ids = ['x', '%00', '..%2F..', 'a'.repeat(300), 'Rm9vOjE=', "1'--", '%E2%80%AE', '-1'];
    let probes = 0;
    let fivexx = 0;
    for (const route of routes.filter((r) => r.path.includes('{'))) {
      for (const id of ids) {
        const url = `${server.url}${route.path.replace(/\{[a-z_]+\}/g, id)}`;
        const res = await fetch(url, {
          method: route.method,
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: route.method === 'GET' ? undefined : '{}',
        });
        probes++;
        if (res.status >= 500) fivexx++;
        expect(res.status, `${route.method} ${url}: ${await res.text()}`).toBeLessThan(500);
      }
    }
    console.info(`malformed-id sweep: ${probes} probes, ${fivexx} 5xx`);
    const headers = (await fetch(`${server.url}/healthz`)).headers;
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('cache-control')).toBe('no-store');
  }, 300_000);
});
