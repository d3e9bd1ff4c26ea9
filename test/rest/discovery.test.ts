import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { routes } from '../../rest-compat/routes/index.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await createTestGateway();
});
afterAll(() => gw.close());

const get = async (path: string) => {
  const res = await gw.app.fetch(`http://gateway${path}`);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

describe('discovery documents', () => {
  it.each(['/llms.txt', '/agents/skill.md', '/agents/heartbeat.md', '/agent-docs/INDEX.md'])('%s is served publicly as text', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/(plain|markdown)/);
    expect(res.text.length).toBeGreaterThan(200);
  });

  it('link each other and /openapi.json', async () => {
    const llms = (await get('/llms.txt')).text;
    for (const link of ['/agents/skill.md', '/agents/heartbeat.md', '/agent-docs/INDEX.md', '/openapi.json']) expect(llms).toContain(link);
    expect((await get('/agent-docs/INDEX.md')).text).toContain('/openapi.json');
  });

  it('name only paths the gateway serves, and the index names every route', async () => {
    const known = new Set(routes.map((r) => r.path));
    for (const path of ['/llms.txt', '/agents/skill.md', '/agents/heartbeat.md', '/agent-docs/INDEX.md']) {
      const text = (await get(path)).text;
      const mentioned = [...text.matchAll(/(?<![\w.])(\/(?:api|v1|harbor|agents|agent-docs|protocol)[^\s`)(\]?"'|]*|\/llms\.txt|\/openapi\.json|\/verify)/g)].map((m) => m[1]!);
      for (const p of mentioned) expect(known.has(p) || p === '/graphql', `${path} mentions ${p}`).toBe(true);
    }
    const index = (await get('/agent-docs/INDEX.md')).text;
    for (const route of routes) expect(index).toContain(`| ${route.method} | \`${route.path}\``);
  });
});
