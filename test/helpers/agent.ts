import { createHash } from 'node:crypto';
import { ed, toBase58 } from '../../src/crypto/ed25519.ts';
import { rest, type CallOptions, type RestResult, type TestGateway } from './gateway.ts';
import type { TestOrg } from './factories.ts';
import type { Environment } from '../../src/context.ts';

export interface AgentKeypair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  base58: string;
}

export function keypair(): AgentKeypair {
  const secretKey = ed.utils.randomSecretKey();
  const publicKey = ed.getPublicKey(secretKey);
  return { secretKey, publicKey, base58: toBase58(publicKey) };
}

export const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** X-Agent-* headers: Ed25519 over METHOD\nPATH\nTIMESTAMP\nSHA256_HEX(body), base64. */
export function signatureHeaders(key: AgentKeypair, method: string, path: string, body: string, timestamp = Math.floor(Date.now() / 1000)) {
  const message = `${method}\n${path}\n${timestamp}\n${sha256Hex(body)}`;
  const signature = ed.sign(new TextEncoder().encode(message), key.secretKey);
  return { 'x-agent-timestamp': String(timestamp), 'x-agent-signature': Buffer.from(signature).toString('base64') };
}

export async function enableAgentMode(gw: TestGateway, org: TestOrg, env: Environment = 'sandbox') {
  const res = await rest(gw, 'POST', '/api/agent/security-mode', { enabled: true }, { token: org.admin.token[env] });
  if (res.status !== 200) throw new Error(`enable agent mode: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function createPat(gw: TestGateway, org: TestOrg, env: Environment = 'sandbox', body: Record<string, unknown> = { name: 'agent' }) {
  const res = await rest(gw, 'POST', '/api/agent/pats', body, { token: org.admin.token[env] });
  if (res.status !== 201) throw new Error(`create PAT: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { token: string; tokenId: string };
}

export interface AgentSessionHandle {
  key: AgentKeypair;
  pat: string;
  patId: string;
  token: string;
  sessionId: string;
}

/** Mode on + PAT + key-bound runtime JWT, the documented onboarding path. */
export async function agentSession(gw: TestGateway, org: TestOrg, env: Environment = 'sandbox'): Promise<AgentSessionHandle> {
  await enableAgentMode(gw, org, env);
  const pat = await createPat(gw, org, env);
  const key = keypair();
  const res = await rest(gw, 'POST', '/api/agent/auth/pat', { token: pat.token, session_pubkey: key.base58, label: 'test runtime' });
  if (res.status !== 200) throw new Error(`exchange PAT: ${res.status} ${JSON.stringify(res.body)}`);
  return { key, pat: pat.token, patId: pat.tokenId, token: res.body.access_token, sessionId: res.body.session_id };
}

/** A signed agent call: the body is serialised once and those exact bytes are signed and sent. */
export function signedRest<T = any>(
  gw: TestGateway,
  agent: Pick<AgentSessionHandle, 'key' | 'token'>,
  method: string,
  path: string,
  body?: unknown,
  options: CallOptions & { timestamp?: number; signPath?: string; signMethod?: string; signBody?: string } = {},
): Promise<RestResult<T>> {
  const raw = body === undefined ? '' : JSON.stringify(body);
  const headers = {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...signatureHeaders(agent.key, options.signMethod ?? method, options.signPath ?? path.split('?')[0]!, options.signBody ?? raw, options.timestamp),
    ...options.headers,
  };
  return rest<T>(gw, method, path, undefined, { token: options.token ?? agent.token, headers, raw: body === undefined ? undefined : raw });
}

/** registration_signature for POST /v1/admin/protocol/agent-keys: the key signs the challenge naming the tenant. */
export function registrationSignature(key: Pick<AgentKeypair, 'secretKey' | 'publicKey'>, tenantId: string, keyId: string): string {
  const message = `paybond:trusted-agent-key:v1\n${tenantId}\n${keyId.toLowerCase()}\n${Buffer.from(key.publicKey).toString('hex')}`;
  return Buffer.from(ed.sign(new TextEncoder().encode(message), key.secretKey)).toString('base64');
}
