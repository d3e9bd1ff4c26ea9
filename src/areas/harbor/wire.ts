import { BincodeWriter } from '../../crypto/bincode.ts';
import { blake3Bytes, jsonDigest } from '../../crypto/canonical-json.ts';

/**
 * The byte layouts the Paybond SDK signs (facts from its public wire format; see the vectors in
 * test/harbor/wire.test.ts). Verification rebuilds these bytes from the request body and the
 * authenticated tenant, never from client-supplied digests.
 */

/** Trim, lower-case, sort, de-duplicate: the form allowed_tools are digested in. */
export const normalizeTools = (tools: string[]): string[] => [...new Set(tools.map((t) => t.trim().toLowerCase()))].sort();

export interface IntentSigningFields {
  intentId: string;
  principalDid: string;
  payeeDid: string;
  amountCents: number;
  currency: string;
  deadline: string;
  budget: unknown;
  evidenceSchema: unknown;
  predicate: unknown;
  predicateRef: string;
  allowedTools: string[];
  settlementRail: string;
  payeePubkey: Uint8Array;
}

/** Fields 2–14, shared by versions 6 and 7. */
function commonIntentFields(w: BincodeWriter, tenantId: string, f: IntentSigningFields): BincodeWriter {
  return w
    .str(tenantId)
    .uuid(f.intentId)
    .str(f.principalDid)
    .str(f.payeeDid)
    .i64(f.amountCents)
    .str(f.currency)
    .str(f.deadline)
    .bytes32(jsonDigest(f.budget))
    .bytes32(jsonDigest(f.evidenceSchema))
    .bytes32(jsonDigest(f.predicate))
    .str(f.predicateRef)
    .bytes32(jsonDigest(normalizeTools(f.allowedTools)))
    .str(f.settlementRail);
}

/** Create-intent sign bytes, signing_version 6 (raw predicate, payee key appended). */
export function intentSignBytesV6(tenantId: string, f: IntentSigningFields): Uint8Array {
  return commonIntentFields(new BincodeWriter().u8(6), tenantId, f).bytes32(f.payeePubkey).finish();
}

/**
 * signing_version 7 (managed policy binding): the predicate digest is over the published head's
 * materialised predicate, followed by template id, version seq and the policy content digest.
 */
export function intentSignBytesV7(
  tenantId: string,
  f: IntentSigningFields,
  policy: { templateId: string; versionSeq: number; contentDigest: Uint8Array },
): Uint8Array {
  return commonIntentFields(new BincodeWriter().u8(7), tenantId, f)
    .str(policy.templateId)
    .varint(policy.versionSeq)
    .bytes32(policy.contentDigest)
    .bytes32(f.payeePubkey)
    .finish();
}

export interface EvidenceSigningFields {
  intentId: string;
  payeeDid: string;
  payload: unknown;
  artifacts: string[];
  submittedAt: string;
}

/** BLAKE3 over the concatenated raw artifact hashes (BLAKE3("") for none). */
export const artifactsDigest = (artifacts: string[]): Uint8Array =>
  blake3Bytes(new Uint8Array(Buffer.concat(artifacts.map((a) => Buffer.from(a, 'hex')))));

/** Payee evidence sign bytes (EvidenceSignV1, version byte 2). */
export function evidenceSignBytes(tenantId: string, f: EvidenceSigningFields): Uint8Array {
  return new BincodeWriter()
    .u8(2)
    .str(tenantId)
    .uuid(f.intentId)
    .str(f.payeeDid)
    .bytes32(jsonDigest(f.payload))
    .bytes32(artifactsDigest(f.artifacts))
    .str(f.submittedAt)
    .finish();
}

export interface RecognitionProof {
  schema_version: 1;
  kind: 'paybond.agent_recognition_proof_v1';
  key_id: string;
  signature_algorithm: 'ed25519-sha256-json-v1';
  issued_at: string;
  expires_at: string;
  nonce: string;
  purpose: string;
  verifier_context: { tenant_id: string; verifier_id: string };
  request_envelope: { method: string; path: string; body_digest_sha256_hex: string };
  message_digest_sha256_hex: string;
  signing_public_key_ed25519_hex: string;
  ed25519_signature_hex: string;
}

/** The signed form of a proof: its first ten fields, in this fixed order (not sorted), compact. */
export function recognitionCanonical(p: RecognitionProof): string {
  return JSON.stringify({
    schema_version: p.schema_version,
    kind: p.kind,
    key_id: p.key_id,
    signature_algorithm: p.signature_algorithm,
    issued_at: p.issued_at,
    expires_at: p.expires_at,
    nonce: p.nonce,
    purpose: p.purpose,
    verifier_context: { tenant_id: p.verifier_context.tenant_id, verifier_id: p.verifier_context.verifier_id },
    request_envelope: {
      method: p.request_envelope.method,
      path: p.request_envelope.path,
      body_digest_sha256_hex: p.request_envelope.body_digest_sha256_hex,
    },
  });
}
