import { createHash, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { base58 } from '@scure/base';
import { calculateJwkThumbprint } from 'jose';

/**
 * Ed25519 in two roles. The hot path (verifying request signatures) uses node:crypto, ~14× faster
 * than @noble/ed25519 on this hardware. @noble/ed25519 handles key validation and signing (tests,
 * examples, server-issued signatures); a test runs RFC 8032 vectors and malformed signatures
 * through both and requires them to agree.
 */
ed.hashes.sha512 = (message) => new Uint8Array(createHash('sha512').update(message).digest());
export { ed };

/** Group order L, little-endian: a canonical signature has S < L (RFC 8032 §5.1.7). */
const L_BYTES = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
// raw key → KeyObject, or null for a key that is not a valid large-order point (checked once).
const keyCache = new Map<string, KeyObject | null>();
const KEY_CACHE_LIMIT = 10_000;

/** node:crypto KeyObject for a raw 32-byte key, cached (building one costs more than a verify). */
export function publicKeyObject(raw: Uint8Array): KeyObject | null {
  const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  let key = keyCache.get(id);
  if (key === undefined) {
    key = isValidPublicKey(raw) ? createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) : null;
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(id, key);
  }
  return key;
}

function scalarIsCanonical(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    const l = L_BYTES[i]!;
    if (s !== l) return s < l;
  }
  return false; // S == L
}

/** Strict RFC 8032 verification through node:crypto. Never throws on malformed input. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64 || !scalarIsCanonical(signature)) return false;
  const key = publicKeyObject(publicKey);
  if (!key) return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** A usable public key: 32 bytes that decode to a curve point of large order. */
export function isValidPublicKey(raw: Uint8Array): boolean {
  if (raw.length !== 32) return false;
  try {
    const point = ed.Point.fromBytes(raw);
    return !point.isSmallOrder();
  } catch {
    return false;
  }
}

/**
 * Decode a public key given as hex (64 chars), base64 (44 chars, padded) or base58, as the
 * different clients send them. Returns null unless it is a valid 32-byte Ed25519 key.
 */
export function decodePublicKey(text: string, encodings: Array<'hex' | 'base64' | 'base58'> = ['hex', 'base64', 'base58']): Uint8Array | null {
  const value = text.trim();
  let raw: Uint8Array | undefined;
  if (encodings.includes('hex') && /^[0-9a-fA-F]{64}$/.test(value)) raw = Buffer.from(value, 'hex');
  else if (encodings.includes('base64') && /^[A-Za-z0-9+/]{43}=$/.test(value)) raw = Buffer.from(value, 'base64');
  else if (encodings.includes('base58') && /^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(value)) {
    try {
      raw = base58.decode(value);
    } catch {
      return null;
    }
  }
  return raw && isValidPublicKey(raw) ? new Uint8Array(raw) : null;
}

/** Decode a 64-byte signature sent as standard base64 (padded) or base58. */
export function decodeSignature(text: string, encodings: Array<'base64' | 'base58'>): Uint8Array | null {
  const value = text.trim();
  if (encodings.includes('base64') && /^[A-Za-z0-9+/]{86}==$/.test(value)) return new Uint8Array(Buffer.from(value, 'base64'));
  if (encodings.includes('base58') && /^[1-9A-HJ-NP-Za-km-z]{64,90}$/.test(value)) {
    try {
      const raw = base58.decode(value);
      return raw.length === 64 ? raw : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** RFC 7638 thumbprint of the key as an OKP JWK: what an agent JWT's `cnf.jkt` names. */
export const keyThumbprint = (raw: Uint8Array): Promise<string> =>
  calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') });

export const toBase58 = (raw: Uint8Array): string => base58.encode(raw);
export const toHex = (raw: Uint8Array): string => Buffer.from(raw).toString('hex');
