import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import { verifyEd25519 } from '../../crypto/ed25519.ts';

/**
 * Shared wire rules of the protocol-v2 artifacts (AgentMandateV1 and the two protocol receipts).
 *
 * Their signed bytes are NOT RFC 8785: each artifact is serialised with its fields in one fixed
 * order, as Go's `encoding/json` writes a struct (HTML-safe escapes of `&`, `<`, `>`, U+2028 and
 * U+2029), timestamps truncated to whole seconds in UTC. The digest is SHA-256 of those bytes and
 * the Ed25519 signature covers the 32 digest bytes, not the JSON itself.
 */

export const SIGNING_ALGORITHM = 'ed25519-sha256-json-v1';
export const GATEWAY_VERIFIER_ID = 'paybond-gateway';

/** Ids that signed artifacts may carry as tokens: receipt ids, verifier ids, actions, tools. */
export const SCOPE_TOKEN = /^[a-z0-9][a-z0-9._:/-]{0,127}$/;
export const TENANT_ID = /^[a-z0-9][a-z0-9._-]*$/;
export const TENANT_ID_MAX = 256;
export const CURRENCY = /^[a-z0-9_]{3,16}$/;
export const HEX64 = /^[0-9a-f]{64}$/;
export const HEX128 = /^[0-9a-f]{128}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The rails a mandate may name (the same five the Harbor wire accepts). */
export const SETTLEMENT_RAILS: ReadonlySet<string> = new Set(['stripe_connect', 'stripe_ach_debit', 'stripe_mpp', 'adyen_manual_capture', 'x402_usdc_base']);

/** A rule of the format was broken; `code` is stable snake_case, `message` names the field. */
export class ProtocolFormatError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolFormatError';
  }
}

const HTML_SAFE: Record<string, string> = { '&': '\\u0026', '<': '\\u003c', '>': '\\u003e', '\u2028': '\\u2028', '\u2029': '\\u2029' };

function goString(value: string): string {
  return JSON.stringify(value).replace(/[&<>\u2028\u2029]/g, (c) => HTML_SAFE[c]!);
}

/**
 * Serialise a value whose objects are already in canonical field order, as Go's encoding/json
 * would: no whitespace, HTML-safe string escapes, integers only.
 */
export function goJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return goString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError('signed protocol artifacts carry integers only');
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== undefined) parts.push(`${goString(k)}:${goJson(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  throw new TypeError(`cannot serialise ${typeof value}`);
}

export const sha256 = (bytes: Uint8Array | string): Buffer => createHash('sha256').update(bytes).digest();

/** The SHA-256 digest of an artifact's canonical form, raw and hex. */
export function canonicalDigest(canonical: unknown): { bytes: Buffer; hex: string } {
  const bytes = sha256(goJson(canonical));
  return { bytes, hex: bytes.toString('hex') };
}

// RFC 3339 with optional fraction and offset; anything Date.parse alone would accept is too loose.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parse an RFC 3339 timestamp and truncate it to whole seconds; null when it is not one. */
export function parseTimestamp(value: unknown): Date | null {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string') {
    const m = RFC3339.exec(value.trim());
    if (!m) return null;
    // Keep milliseconds at most: Date.parse of longer fractions is implementation-defined.
    const text = value.trim().replace(/(\.\d{3})\d+/, '$1');
    ms = Date.parse(text);
  } else return null;
  if (!Number.isFinite(ms)) return null;
  const truncated = Math.floor(ms / 1000) * 1000;
  const year = new Date(truncated).getUTCFullYear();
  return year >= 1 && year <= 9999 ? new Date(truncated) : null;
}

/** `2030-01-01T00:00:00Z`: UTC, whole seconds (what RFC3339Nano prints for a truncated time). */
export const formatTimestamp = (date: Date): string => new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');

// In a `u` regex a surrogate range matches only unpaired halves.
const UNSAFE_TEXT = /[\u0000\uD800-\uDFFF]/u;

/** Strings with U+0000 or unpaired surrogates cannot be stored or serialised identically everywhere. */
export const isPlainText = (value: string): boolean => !UNSAFE_TEXT.test(value);

/** The first string anywhere in a JSON value that is not plain text, as a dotted path; null if none. */
export function findUnsafeText(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return isPlainText(value) ? null : path || '(root)';
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findUnsafeText(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!isPlainText(k)) return `${path}.(key)`;
      const hit = findUnsafeText(v, path ? `${path}.${k}` : k);
      if (hit) return hit;
    }
  }
  return null;
}

/**
 * An Ed25519 signing key: a node:crypto private KeyObject (as the gateway loads its key), or the
 * raw 32-byte RFC 8032 seed (as the Paybond SDK and test fixtures hold keys).
 */
export type Ed25519PrivateKey = KeyObject | Uint8Array;

const PKCS8_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function privateKeyObject(key: Ed25519PrivateKey): KeyObject {
  if (key instanceof Uint8Array) {
    if (key.length !== 32) throw new ProtocolFormatError('signing_key_invalid', 'an Ed25519 seed is 32 bytes');
    return createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, key]), format: 'der', type: 'pkcs8' });
  }
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new ProtocolFormatError('signing_key_invalid', 'the signing key must be an Ed25519 private key');
  }
  return key;
}

/** Lower-case hex of the raw 32-byte public key of a signing key. */
export function publicKeyHex(key: Ed25519PrivateKey): string {
  const jwk = createPublicKey(privateKeyObject(key)).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('hex');
}

/** The four signing fields every protocol artifact ends with. */
export interface SignatureFields {
  signing_algorithm: string;
  message_digest_sha256_hex: string;
  signing_public_key_ed25519_hex: string;
  ed25519_signature_hex: string;
}

/** Sign the SHA-256 digest of a canonical form; returns the four signing fields. */
export function signCanonical(canonical: unknown, key: Ed25519PrivateKey): SignatureFields {
  const keyObject = privateKeyObject(key);
  const digest = canonicalDigest(canonical);
  return {
    signing_algorithm: SIGNING_ALGORITHM,
    message_digest_sha256_hex: digest.hex,
    signing_public_key_ed25519_hex: publicKeyHex(keyObject),
    ed25519_signature_hex: nodeSign(null, digest.bytes, keyObject).toString('hex'),
  };
}

export type SignatureCheck = 'ok' | 'unsupported_algorithm' | 'digest_mismatch' | 'signature_invalid';

/**
 * Check the signing fields against the canonical form's digest. The fields were shape-checked by
 * the caller (lower-case hex of the right lengths). Verification is strict RFC 8032.
 */
export function checkSignature(fields: SignatureFields, digestHex: string): SignatureCheck {
  if (fields.signing_algorithm !== SIGNING_ALGORITHM) return 'unsupported_algorithm';
  if (fields.message_digest_sha256_hex !== digestHex) return 'digest_mismatch';
  const ok = verifyEd25519(
    Buffer.from(fields.signing_public_key_ed25519_hex, 'hex'),
    Buffer.from(digestHex, 'hex'),
    Buffer.from(fields.ed25519_signature_hex, 'hex'),
  );
  return ok ? 'ok' : 'signature_invalid';
}
