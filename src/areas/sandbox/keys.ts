import { hkdfSync } from 'node:crypto';
import type { Runtime } from '../../context.ts';
import { ed, toBase58 } from '../../crypto/ed25519.ts';

/**
 * The keys the gateway signs sandbox guardrail intents with: an Ed25519 principal key (the intent
 * terms) and payee key (the evidence) per sandbox tenant, derived with HKDF-SHA256 (RFC 5869) from
 * the server secret. Nothing is stored; rotating SERVER_SECRET rotates them (intents signed
 * before keep verifying: they carry their public keys).
 */
export interface SandboxKey {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  /** `did:key` of the public key (multicodec ed25519-pub 0xed01, base58btc). */
  did: string;
  publicKeyBase64: string;
  sign(message: Uint8Array): string;
}

const SALT = 'paybond-sandbox-guardrail-keys-v1';

export function sandboxKey(rt: Runtime, tenantId: string, role: 'principal' | 'payee'): SandboxKey {
  const secretKey = new Uint8Array(hkdfSync('sha256', rt.keys.hmacSecret, SALT, `${role}:${tenantId}`, 32));
  const publicKey = ed.getPublicKey(secretKey);
  return {
    secretKey,
    publicKey,
    did: `did:key:z${toBase58(new Uint8Array([0xed, 0x01, ...publicKey]))}`,
    publicKeyBase64: Buffer.from(publicKey).toString('base64'),
    sign: (message) => Buffer.from(ed.sign(message, secretKey)).toString('base64'),
  };
}
