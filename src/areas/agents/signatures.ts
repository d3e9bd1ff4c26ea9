import './errors.ts';
import { sha256Hex } from '../../crypto/hash.ts';
import { decodeSignature, verifyEd25519 } from '../../crypto/ed25519.ts';
import type { Principal, Runtime } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../kernel/http/headers.ts';

/** Accepted clock skew for X-Agent-Timestamp: 300 s in the past, 60 s in the future. */
export const SIGNATURE_WINDOW = { pastSeconds: 300, futureSeconds: 60 };
const EMPTY = new Uint8Array(0);


/** The signed string: METHOD \n PATH \n TIMESTAMP \n SHA256_HEX(raw body). PATH has no query string. */
export function canonicalRequest(method: string, path: string, timestamp: string, body: Uint8Array | undefined): string {
  return `${method.toUpperCase()}\n${path}\n${timestamp}\n${sha256Hex(body ?? EMPTY)}`;
}

export const hasSignatureHeaders = (headers: Headers) => headers.has(TIMESTAMP_HEADER) || headers.has(SIGNATURE_HEADER);

/**
 * Verify X-Agent-Timestamp / X-Agent-Signature against the key the agent JWT is bound to, over the
 * raw body bytes as received. Each valid signature is accepted once (replay cache shared by every
 * node through the store). Failures are 401 with a precise code.
 */
export async function verifySignedRequest(
  rt: Runtime,
  principal: Principal,
  request: { method: string; path: string; headers: Headers; rawBody: Uint8Array | undefined },
): Promise<void> {
  if (principal.kind !== 'agent' || !principal.agentKey) {
    throw new DomainError('key_not_bound', 'Signed requests need an agent JWT bound to an Ed25519 key (POST /api/agent/auth/pat with session_pubkey)');
  }
  const timestamp = request.headers.get(TIMESTAMP_HEADER)?.trim();
  const signatureText = request.headers.get(SIGNATURE_HEADER)?.trim();
  if (!timestamp || !signatureText) {
    throw new DomainError('signature_missing', 'Send both X-Agent-Timestamp and X-Agent-Signature');
  }
  if (!/^\d{1,12}$/.test(timestamp)) throw new DomainError('signature_invalid', 'X-Agent-Timestamp must be unix seconds');
  const skew = Number(timestamp) - Math.floor(rt.clock.now().getTime() / 1000);
  if (skew < -SIGNATURE_WINDOW.pastSeconds || skew > SIGNATURE_WINDOW.futureSeconds) {
    throw new DomainError('signature_expired', 'X-Agent-Timestamp is outside the accepted window (300 s past, 60 s future)');
  }
  const signature = decodeSignature(signatureText, ['base64']);
  if (!signature) throw new DomainError('signature_invalid', 'X-Agent-Signature must be the base64 of a 64-byte Ed25519 signature');
  const message = Buffer.from(canonicalRequest(request.method, request.path, timestamp, request.rawBody), 'utf8');
  if (!verifyEd25519(principal.agentKey, message, signature)) {
    throw new DomainError('signature_invalid', 'The signature does not verify for this method, path, timestamp and body with the bound key');
  }
  const window = SIGNATURE_WINDOW.pastSeconds + SIGNATURE_WINDOW.futureSeconds;
  if (!(await rt.store.putIfAbsent(`sig:${sha256Hex(signature)}`, window))) {
    throw new DomainError('signature_replayed', 'This signature was already used; sign every request afresh');
  }
  principal.signed = true;
}
