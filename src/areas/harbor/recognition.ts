import './errors.ts';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { verifyEd25519 } from '../../crypto/ed25519.ts';
import { newId, sha256Hex } from '../../crypto/hash.ts';
import type { Principal, Runtime } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import { RECOGNITION_HEADER } from '../../kernel/http/headers.ts';
import type { Tx } from '../../db.ts';
import { KEY_ID } from '../agents/trusted-keys.ts';
import { recognitionCanonical, type RecognitionProof } from './wire.ts';

export const VERIFIER_ID = 'paybond-gateway';
const MAX_WINDOW_SECONDS = 600;
const SKEW_SECONDS = 60;

/** What a proof is bound to: the request as it arrived. */
export interface RequestBinding {
  method: string;
  path: string;
  rawBody: Uint8Array | undefined;
  headers: Headers;
}

const rfc3339Seconds = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, 'must be RFC 3339 UTC whole seconds');
const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`), `must be ${length} lower-case hex characters`);

const proofSchema = z.object({
  schema_version: z.literal(1),
  kind: z.literal('paybond.agent_recognition_proof_v1'),
  key_id: z.string().regex(KEY_ID),
  signature_algorithm: z.literal('ed25519-sha256-json-v1'),
  issued_at: rfc3339Seconds,
  expires_at: rfc3339Seconds,
  nonce: z.string().min(1).max(256).regex(/^[^\u0000]+$/, 'must not contain U+0000'),
  purpose: z.string().regex(KEY_ID),
  verifier_context: z.object({ tenant_id: z.string().min(1).max(256), verifier_id: z.string().min(1).max(128) }),
  request_envelope: z.object({ method: z.string().min(1).max(16), path: z.string().startsWith('/').max(2048), body_digest_sha256_hex: hex(64) }),
  message_digest_sha256_hex: hex(64),
  signing_public_key_ed25519_hex: hex(64),
  ed25519_signature_hex: hex(128),
});

const invalid = (message: string) => new DomainError('recognition_proof_invalid', `Recognition proof rejected: ${message}`);

export interface VerifiedProof {
  keyId: string;
  nonce: string;
  expiresAt: Date;
}

/**
 * Verify an AgentRecognitionProofV1 for this request and purpose: shape, digest, Ed25519 signature by
 * the tenant's registered active key, purpose, verifier context, method/path/body binding and time
 * window. The nonce is consumed later, inside the write's transaction (consumeProofNonce).
 */
export async function verifyRecognitionProof(rt: Runtime, principal: Principal, binding: RequestBinding, purpose: string): Promise<VerifiedProof> {
  const header = binding.headers.get(RECOGNITION_HEADER);
  if (!header) {
    throw new DomainError('recognition_proof_required', `This write needs an agent recognition proof (${RECOGNITION_HEADER}) or a signed agent request`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header.trim(), 'base64url').toString('utf8'));
  } catch {
    throw invalid('the header is not base64url-encoded JSON');
  }
  return checkRecognitionProof(rt, principal.tenantId, parsed, {
    purpose,
    method: binding.method,
    path: binding.path,
    bodyDigestHex: sha256Hex(binding.rawBody ?? new Uint8Array()),
  });
}

/** What a proof must be bound to. */
export interface ExpectedRecognition {
  purpose: string;
  method: string;
  path: string;
  bodyDigestHex: string;
}

/**
 * Verify a parsed AgentRecognitionProofV1 for a tenant against what it must be bound to (the
 * header gate above, and the protocol routes that carry a proof in their body). The nonce is not
 * consumed here (consumeProofNonce).
 */
export async function checkRecognitionProof(rt: Runtime, tenantId: string, parsed: unknown, expected: ExpectedRecognition): Promise<VerifiedProof> {
  const checked = proofSchema.safeParse(parsed);
  if (!checked.success) throw invalid(checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const proof = checked.data as RecognitionProof;

  const digest = createHash('sha256').update(recognitionCanonical(proof)).digest();
  if (digest.toString('hex') !== proof.message_digest_sha256_hex) throw invalid('message_digest_sha256_hex does not match the proof');
  const key = await rt.db.trustedAgentKey.findUnique({ where: { tenantId_keyId: { tenantId, keyId: proof.key_id } } });
  if (!key) throw new DomainError('unregistered_key', `Key ${proof.key_id} is not a trusted agent key of this tenant`);
  if (key.revokedAt) throw new DomainError('revoked_key', `Key ${proof.key_id} has been revoked`);
  if (key.publicKeyHex !== proof.signing_public_key_ed25519_hex) throw invalid('signing key does not match the registered key');
  if (!verifyEd25519(Buffer.from(key.publicKeyHex, 'hex'), digest, Buffer.from(proof.ed25519_signature_hex, 'hex'))) {
    throw invalid('signature does not verify');
  }

  if (proof.purpose !== expected.purpose) throw invalid(`purpose is ${proof.purpose}, this route needs ${expected.purpose}`);
  if (proof.verifier_context.tenant_id !== tenantId || proof.verifier_context.verifier_id !== VERIFIER_ID) {
    throw invalid('verifier_context does not name this tenant and verifier');
  }
  const envelope = proof.request_envelope;
  if (envelope.method !== expected.method.toUpperCase() || envelope.path !== expected.path) throw invalid('request_envelope is bound to another method or path');
  if (envelope.body_digest_sha256_hex !== expected.bodyDigestHex) throw invalid('request_envelope is bound to another body');

  const issued = Date.parse(proof.issued_at);
  const expires = Date.parse(proof.expires_at);
  const now = rt.clock.now().getTime();
  if (!(expires > issued) || expires - issued > MAX_WINDOW_SECONDS * 1000) throw invalid('validity window must be positive and at most 10 minutes');
  if (now < issued - SKEW_SECONDS * 1000 || now > expires + SKEW_SECONDS * 1000) {
    throw new DomainError('recognition_proof_expired', 'The recognition proof is outside its validity window');
  }
  return { keyId: proof.key_id, nonce: proof.nonce, expiresAt: new Date(expires + SKEW_SECONDS * 1000) };
}

/** Each proof is accepted once: the nonce is recorded in the same transaction as the write. */
export async function consumeProofNonce(tx: Tx, tenantId: string, proof: VerifiedProof): Promise<void> {
  const inserted = await tx.$executeRaw`INSERT INTO "RecognitionNonce" ("id", "tenantId", "keyId", "nonce", "expiresAt")
    VALUES (${newId('rn')}, ${tenantId}, ${proof.keyId}, ${proof.nonce}, ${proof.expiresAt}) ON CONFLICT DO NOTHING`;
  if (inserted !== 1) throw new DomainError('recognition_proof_replayed', 'This recognition proof was already used');
}
