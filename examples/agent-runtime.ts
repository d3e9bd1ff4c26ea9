/**
 * An agent runtime doing the documented flow against a Paybond Gateway:
 *   1. generate an ephemeral Ed25519 key pair (never leaves this process)
 *   2. exchange the PAT for a short-lived JWT bound to that key
 *   3. check its identity, then create a checkout with a signed request
 *
 *   GATEWAY_URL=http://localhost:4000 PAYBOND_PAT=paybond_pat_… node --import tsx examples/agent-runtime.ts
 */
import { createHash, randomUUID } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { base58 } from '@scure/base';

ed.hashes.sha512 = sha512;

const gateway = (process.env.GATEWAY_URL ?? 'http://localhost:4000').replace(/\/$/, '');
const pat = process.env.PAYBOND_PAT;
if (!pat) {
  console.error('Set PAYBOND_PAT to a personal access token (created by a tenant admin with Agent Security Mode on).');
  process.exit(2);
}

async function call(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(gateway + path, {
    method,
    headers: {
      accept: 'application/json',
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: typeof options.body === 'string' ? options.body : options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const json = (await response.json()) as Record<string, any>;
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${json.error?.code}: ${json.error?.message}`);
  return json;
}

/** X-Agent-Signature over METHOD\nPATH\nTIMESTAMP\nSHA256_HEX(exact body bytes). */
function sign(secretKey: Uint8Array, method: string, path: string, body: string) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const digest = createHash('sha256').update(body).digest('hex');
  const signature = ed.sign(new TextEncoder().encode(`${method}\n${path}\n${timestamp}\n${digest}`), secretKey);
  return { 'x-agent-timestamp': timestamp, 'x-agent-signature': Buffer.from(signature).toString('base64') };
}

const secretKey = ed.utils.randomSecretKey();
const session = await call('POST', '/api/agent/auth/pat', {
  body: { token: pat, session_pubkey: base58.encode(ed.getPublicKey(secretKey)), label: 'example-runtime' },
});
console.log(`runtime token for ${session.agent_id} (${session.scope}), expires in ${session.expires_in}s`);

const me = await call('GET', '/api/agent/auth/me', { token: session.access_token });
console.log(`tenant ${me.tenant_id} (${me.environment}), auth method ${me.auth_method}`);

const path = '/api/agent/checkout/create';
const order = JSON.stringify({
  amount_cents: Number(process.env.AMOUNT_CENTS ?? 1250),
  currency: 'usd',
  recipient: 'did:web:vendor.example',
  memo: 'API credits for the research task',
  reference: `example-${randomUUID()}`,
});
const payment = await call('POST', path, {
  token: session.access_token,
  body: order,
  headers: { ...sign(secretKey, 'POST', path, order), 'idempotency-key': randomUUID() },
});
console.log(JSON.stringify({ intent_id: payment.intent_id, state: payment.state, funded: payment.funded, amount_cents: payment.amount_cents, currency: payment.currency }));
