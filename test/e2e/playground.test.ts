import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScript, startServer, type RunningServer } from '../helpers/server.ts';
import { PLAYGROUND_AUTHORIZATION } from '../../src/plugins/playground.ts';

/**
 * The playground in a real browser with no internet: Debian's Chromium (headless, driven by
 * playwright-core) opens GET /graphql of a real gateway process while every request to any other
 * origin is aborted and host names do not resolve. The editor must render from the gateway's own
 * files, load the schema, and run queries with the Authorization header typed into the Headers tab.
 *
 * Chromium is a system package: `apt-get install -y --no-install-recommends chromium` (.ci/run
 * installs it when missing). Without it this test fails and says so; it never skips.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-playground-'));
let server: RunningServer | undefined;
let browser: Browser | undefined;
let apiKey: string;
let sandboxTenant: string;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `The playground browser test needs Chromium at ${CHROMIUM}, which is missing. Install it with ` +
        '`apt-get update && apt-get install -y --no-install-recommends chromium` (.ci/run does this), or set CHROMIUM_PATH.',
    );
  }
  const boot = await runScript(['scripts/bootstrap.ts', '--org', 'Playground Co', '--email', 'admin@playground.test'], { DATA_DIR: dataDir });
  expect(boot.code, boot.output).toBe(0);
  apiKey = /paybond_sk_sandbox_\S+/.exec(boot.output)![0];
  sandboxTenant = /sandbox (ten_\S+)/.exec(boot.output)![1]!;
  server = await startServer({ DATA_DIR: dataDir, GRAPHIQL: 'true' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
    // No name resolves, so nothing but the gateway's IP address is reachable even without the routes below.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Text of the visible Monaco editor in a pane as rendered (Monaco draws spaces as U+00A0). */
const editorText = (page: Page, selector: string) => page.locator(`${selector} .monaco-editor:visible .view-lines`).first().innerText().then((t) => t.replace(/\u00a0/g, ' '));

/** Replace a Monaco editor's whole content as a user would: focus it, select all, type. */
async function replaceEditor(page: Page, selector: string, text: string) {
  await page.locator(`${selector} .monaco-editor:visible`).first().click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // Key by key: Monaco closes brackets and quotes as they open and types over them as they close.
  await page.keyboard.type(text);
  await expect.poll(() => editorText(page, selector).then((t) => t.replace(/\s+/g, ''))).toBe(text.replace(/\s+/g, ''));
}

/** Click ▶ and return the JSON body of the POST /graphql it caused. */
async function run(page: Page): Promise<{ status: number; body: any }> {
  const answered = page.waitForResponse(
    (r) => new URL(r.url()).pathname === '/graphql' && r.request().method() === 'POST' && !r.request().postData()?.includes('IntrospectionQuery'),
    { timeout: 90_000 },
  );
  answered.catch(() => undefined); // awaited below
  await page.locator('.graphiql-execute-button').click({ timeout: 90_000 });
  const response = await answered;
  return { status: response.status(), body: await response.json() };
}

describe('the GraphQL playground in headless Chromium, offline', () => {
  it('renders from the gateway alone and runs the example query with a typed Authorization header', async () => {
    const origin = new URL(server!.url).origin;
    const context = await browser!.newContext();
    const blocked: string[] = [];
    const requested: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      requested.push(url);
      if (new URL(url).origin === origin) return route.continue();
      blocked.push(url);
      return route.abort('internetdisconnected');
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    const workers: string[] = [];
    page.on('worker', (worker) => workers.push(new URL(worker.url()).pathname));

    const introspected = page.waitForResponse((r) => r.request().method() === 'POST' && Boolean(r.request().postData()?.includes('IntrospectionQuery')));
    introspected.catch(() => undefined); // awaited below; a failed goto must not leave it unhandled
    const opened = await page.goto(`${server!.url}/graphql`);
    expect(opened?.status()).toBe(200);
    expect(opened?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(await page.title()).toBe('Paybond Gateway — GraphQL playground');

    // The editor renders: GraphiQL's container, Monaco editors, the title in the logo slot.
    await page.locator('.graphiql-container .graphiql-query-editor .monaco-editor').first().waitFor({ timeout: 90_000 });
    await expect.poll(() => page.locator('#root').innerText(), { timeout: 30_000 }).toContain('Paybond Gateway');
    expect(await page.locator('#root').innerText()).not.toContain('Loading');
    await expect.poll(() => editorText(page, '.graphiql-query-editor'), { timeout: 30_000 }).toContain('query Playground {');
    expect(await editorText(page, '.graphiql-query-editor')).toContain('Headers tab');
    // The Headers tab is open with the placeholder to replace.
    await expect.poll(() => editorText(page, '.graphiql-editor-tool'), { timeout: 30_000 }).toContain(PLAYGROUND_AUTHORIZATION);
    // The schema loads without a credential (introspection is public).
    const introspection = await introspected;
    expect(introspection.status()).toBe(200);
    expect(((await introspection.json()) as { data?: { __schema?: unknown } }).data?.__schema).toBeTruthy();
    // Monaco's workers come from the gateway too.
    await expect.poll(() => workers.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    for (const worker of workers) expect(worker).toMatch(/^\/playground\/[a-z]+\.worker\.[0-9a-f]{16}\.js$/);

    // Run the example as it opens: the placeholder is not sent, the answer says what is missing.
    const anonymous = await run(page);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await expect.poll(() => editorText(page, '.graphiql-response'), { timeout: 30_000 }).toContain('UNAUTHENTICATED');

    // Type the real credential into the Headers tab and run the example query again.
    await replaceEditor(page, '.graphiql-editor-tool', `{"Authorization": "Bearer ${apiKey}"}`);
    const authorized = await run(page);
    expect(authorized.status).toBe(200);
    expect(authorized.body.errors).toBeUndefined();
    expect(authorized.body.data.viewer).toMatchObject({ principalType: 'api_key', environment: 'sandbox', tenantId: sandboxTenant });
    expect(authorized.body.data.intents).toEqual({ totalCount: 0, edges: [] });
    await expect.poll(() => editorText(page, '.graphiql-response'), { timeout: 30_000 }).toContain(sandboxTenant);
    expect(await editorText(page, '.graphiql-response')).toContain('"principalType": "api_key"');

    // Type a query of one's own: it runs with the same header.
    await replaceEditor(page, '.graphiql-query-editor', 'query Mine { viewer { tenantId organization { name } } }');
    // GraphiQL copies the editor into its state (and the operation name) after a debounce; clicking
    // before that sends the new document with the old operation name.
    await page.waitForTimeout(1_000);
    const mine = await run(page);
    expect(mine.body).toMatchObject({ data: { viewer: { tenantId: sandboxTenant, organization: { name: 'Playground Co' } } } });
    await expect.poll(() => editorText(page, '.graphiql-response'), { timeout: 30_000 }).toContain('Playground Co');

    // Nothing outside the gateway was needed, nothing was refused by the CSP, no script failed.
    expect(blocked).toEqual([]);
    expect(requested.length).toBeGreaterThan(5);
    expect(problems).toEqual([]);
    // The credential was never written to the browser's storage.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    expect(stored).not.toContain(apiKey);
    await context.close();
  }, 240_000);
});
