import { createHash } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.ts';
import { verifyEd25519 } from '../crypto/ed25519.ts';
import type { Ed25519Signer } from './checkpoint.ts';
import { EvidenceError } from './errors.ts';

/**
 * The signed bundle manifest (`manifest.json`), compatible with the Paybond SDK's offline check:
 * the "core" fields below, taken from the parsed manifest in exactly this order (absent ones
 * skipped; `checkpoint_last_ledger_seq` also skipped when 0 or null), serialised with ECMAScript
 * JSON.stringify, are the signed payload. signed_payload_sha256_hex = SHA-256 of its UTF-8 bytes,
 * and ed25519_signature_hex is an Ed25519 signature over that 32-byte digest (not over the payload),
 * verified with signing_public_key_ed25519_hex.
 *
 * Nested objects are written with sorted keys and only integers as numbers, so that the payload
 * equals the concatenation of the top-level fields with JCS (RFC 8785) values: a verifier in any
 * language can rebuild it without ECMAScript key-order rules.
 */
export const MANIFEST_CORE_FIELDS = [
  'schema_version',
  'kind',
  'tenant_realm_id',
  'job_id',
  'generated_at_rfc3339',
  'gateway_build_version',
  'score_model_version',
  'disclosure_tier',
  'redaction_profile',
  'checkpoint_last_ledger_seq',
  'export_filter',
  'artifacts',
] as const;

export const MANIFEST_SIGNATURE_FIELDS = ['signed_payload_sha256_hex', 'ed25519_signature_hex', 'signing_public_key_ed25519_hex'] as const;

export const MANIFEST_SCHEMA_VERSION = 1;
export const AUDIT_EXPORT_KIND = 'paybond.audit_export_manifest_v1';
export const ARBITRATION_PACKAGE_KIND = 'paybond.arbitration_package_manifest_v1';
export const MANIFEST_KINDS: readonly string[] = [AUDIT_EXPORT_KIND, ARBITRATION_PACKAGE_KIND];
export const MANIFEST_PATH = 'manifest.json';

export type ArtifactRole = 'records' | 'ledger_events' | 'checkpoint' | 'checkpoint_history';

export interface ManifestArtifact {
  path: string;
  role: ArtifactRole;
  media_type: string;
  sha256: string;
  size_bytes: number;
  /** Newline-terminated lines in the file (for JSONL: rows). */
  row_count: number;
  /** ledger_events: how its events are proven against the checkpoint. */
  proof_mode?: 'inclusion' | 'full';
  /** ledger_events and checkpoint_history: path of the checkpoint artifact they refer to. */
  checkpoint_path?: string;
  /** checkpoint: what the signed note says, repeated under the manifest's signature. */
  origin?: string;
  tree_size?: number;
  root_hash_b64?: string;
  verifier_key?: string;
}

export interface ManifestCore {
  schema_version: number;
  kind: string;
  tenant_realm_id: string;
  job_id: string;
  generated_at_rfc3339: string;
  gateway_build_version: string;
  score_model_version: string;
  disclosure_tier: string;
  redaction_profile: string;
  checkpoint_last_ledger_seq?: number;
  export_filter: Record<string, unknown>;
  artifacts: ManifestArtifact[];
}

export interface SignedManifest extends ManifestCore {
  signed_payload_sha256_hex: string;
  ed25519_signature_hex: string;
  signing_public_key_ed25519_hex: string;
}

/** The SDK's core: the core fields of a parsed manifest, in order, with its skip rules. */
export function manifestCore(manifest: Record<string, unknown>): Record<string, unknown> {
  const core: Record<string, unknown> = {};
  for (const key of MANIFEST_CORE_FIELDS) {
    if (!Object.hasOwn(manifest, key)) continue;
    const value = manifest[key];
    if (key === 'checkpoint_last_ledger_seq' && (value === 0 || value === null)) continue;
    core[key] = value;
  }
  return core;
}

/** The signed payload of a parsed manifest, as the SDK computes it. */
export function manifestSignedPayload(manifest: Record<string, unknown>): string {
  return JSON.stringify(manifestCore(manifest));
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest();

/** Sign a manifest core. Nested values are normalised to sorted keys; the result round-trips through JSON. */
export function signManifest(core: ManifestCore, signer: Ed25519Signer): SignedManifest {
  const normalised: Record<string, unknown> = {};
  for (const key of MANIFEST_CORE_FIELDS) {
    const value = (core as unknown as Record<string, unknown>)[key];
    if (value === undefined) continue;
    assertIntegers(value, key);
    normalised[key] = JSON.parse(canonicalJson(value));
  }
  const payload = manifestSignedPayload(normalised);
  const digest = sha256(payload);
  const signed = {
    ...normalised,
    signed_payload_sha256_hex: digest.toString('hex'),
    ed25519_signature_hex: Buffer.from(signer.sign(digest)).toString('hex'),
    signing_public_key_ed25519_hex: Buffer.from(signer.publicKey).toString('hex'),
  } as unknown as SignedManifest;
  // Keys such as "1" would be reordered by JSON.parse and change the payload a reader computes.
  if (manifestSignedPayload(JSON.parse(serializeManifest(signed))) !== payload) {
    throw new EvidenceError('manifest_not_canonical', 'manifest does not survive a JSON round trip (integer-like object keys?)');
  }
  return signed;
}

function assertIntegers(value: unknown, at: string): void {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new EvidenceError('manifest_not_canonical', `${at}: only safe integers may appear as numbers`);
  if (Array.isArray(value)) value.forEach((v, i) => assertIntegers(v, `${at}[${i}]`));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      // ECMAScript puts integer-like keys first whatever their order: they would break "JCS values".
      if (/^(0|[1-9][0-9]*)$/.test(k)) throw new EvidenceError('manifest_not_canonical', `${at}: object keys may not be integers ("${k}")`);
      assertIntegers(v, `${at}.${k}`);
    }
  }
}

/** manifest.json bytes: indented JSON, core fields in the SDK's order, then the signature fields. */
export function serializeManifest(manifest: SignedManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export interface ManifestCheck {
  check: string;
  message: string;
}

/**
 * The SDK's check, with a reason: payload digest, then the Ed25519 signature over it. With
 * `publicKey` the manifest must also be signed by that key (the key inside a manifest proves
 * nothing by itself).
 */
export function checkManifestSignature(manifest: Record<string, unknown>, publicKey?: Uint8Array): ManifestCheck | null {
  const digest = sha256(manifestSignedPayload(manifest));
  const expected = String(manifest.signed_payload_sha256_hex ?? '').trim().toLowerCase();
  if (digest.toString('hex') !== expected) {
    return { check: 'manifest_signed_payload_sha256', message: 'SHA-256 of the manifest core fields is not signed_payload_sha256_hex: a signed field was changed' };
  }
  const keyHex = String(manifest.signing_public_key_ed25519_hex ?? '');
  const sigHex = String(manifest.ed25519_signature_hex ?? '');
  if (!/^[0-9a-f]{64}$/i.test(keyHex) || !/^[0-9a-f]{128}$/i.test(sigHex)) {
    return { check: 'manifest_ed25519_signature', message: 'signing_public_key_ed25519_hex or ed25519_signature_hex is missing or malformed' };
  }
  const key = Buffer.from(keyHex, 'hex');
  if (publicKey && !key.equals(publicKey)) {
    return { check: 'manifest_signing_key', message: `signed by ${keyHex.toLowerCase()}, not by the expected key ${Buffer.from(publicKey).toString('hex')}` };
  }
  if (!verifyEd25519(key, digest, Buffer.from(sigHex, 'hex'))) {
    return { check: 'manifest_ed25519_signature', message: 'the Ed25519 signature does not verify over signed_payload_sha256_hex' };
  }
  return null;
}

const SAFE_PATH = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;
export const isSafeArtifactPath = (path: string): boolean => SAFE_PATH.test(path) && path !== MANIFEST_PATH;

/** Shape of a parsed manifest: every field a verifier relies on. Returns the first problem found. */
export function checkManifestShape(manifest: unknown): ManifestCheck | null {
  const bad = (message: string): ManifestCheck => ({ check: 'manifest_schema', message });
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) return bad('manifest.json is not a JSON object');
  const m = manifest as Record<string, unknown>;
  const known = new Set<string>([...MANIFEST_CORE_FIELDS, ...MANIFEST_SIGNATURE_FIELDS]);
  const unsigned = Object.keys(m).find((k) => !known.has(k));
  if (unsigned) return { check: 'manifest_unsigned_field', message: `field ${JSON.stringify(unsigned)} is not covered by the signature` };
  if (m.schema_version !== MANIFEST_SCHEMA_VERSION) return bad(`schema_version ${JSON.stringify(m.schema_version)} is not supported (expected ${MANIFEST_SCHEMA_VERSION})`);
  if (typeof m.kind !== 'string' || !MANIFEST_KINDS.includes(m.kind)) return bad(`unknown kind ${JSON.stringify(m.kind)}`);
  for (const key of ['tenant_realm_id', 'job_id', 'generated_at_rfc3339', 'gateway_build_version', 'score_model_version', 'disclosure_tier', 'redaction_profile'] as const) {
    if (typeof m[key] !== 'string') return bad(`${key} must be a string`);
  }
  if (m.checkpoint_last_ledger_seq !== undefined && m.checkpoint_last_ledger_seq !== null && !(Number.isSafeInteger(m.checkpoint_last_ledger_seq) && (m.checkpoint_last_ledger_seq as number) >= 0)) {
    return bad('checkpoint_last_ledger_seq must be a non-negative integer');
  }
  if (!m.export_filter || typeof m.export_filter !== 'object' || Array.isArray(m.export_filter)) return bad('export_filter must be an object');
  if (!Array.isArray(m.artifacts)) return bad('artifacts must be an array');
  const paths = new Set<string>();
  for (const [i, a] of (m.artifacts as unknown[]).entries()) {
    const at = `artifacts[${i}]`;
    if (!a || typeof a !== 'object') return bad(`${at} is not an object`);
    const art = a as Record<string, unknown>;
    if (typeof art.path !== 'string' || !isSafeArtifactPath(art.path)) return bad(`${at}.path is not a safe relative path`);
    if (paths.has(art.path)) return bad(`${at}.path ${art.path} is listed twice`);
    paths.add(art.path);
    if (!['records', 'ledger_events', 'checkpoint', 'checkpoint_history'].includes(art.role as string)) return bad(`${at}.role ${JSON.stringify(art.role)} is unknown`);
    if (typeof art.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(art.sha256)) return bad(`${at}.sha256 is not 64 lowercase hex digits`);
    for (const n of ['size_bytes', 'row_count'] as const) if (!Number.isSafeInteger(art[n]) || (art[n] as number) < 0) return bad(`${at}.${n} is not a non-negative integer`);
    if (art.role === 'ledger_events' && !['inclusion', 'full'].includes(art.proof_mode as string)) return bad(`${at}.proof_mode must be "inclusion" or "full"`);
    if ((art.role === 'ledger_events' || art.role === 'checkpoint_history') && typeof art.checkpoint_path !== 'string') return bad(`${at}.checkpoint_path is missing`);
    if (art.role === 'checkpoint') {
      if (typeof art.origin !== 'string' || typeof art.verifier_key !== 'string' || typeof art.root_hash_b64 !== 'string' || !Number.isSafeInteger(art.tree_size)) {
        return bad(`${at}: a checkpoint lists origin, tree_size, root_hash_b64 and verifier_key`);
      }
    }
  }
  for (const [i, a] of (m.artifacts as Array<Record<string, unknown>>).entries()) {
    if (a.checkpoint_path !== undefined) {
      const target = (m.artifacts as Array<Record<string, unknown>>).find((b) => b.path === a.checkpoint_path);
      if (!target || target.role !== 'checkpoint') return bad(`artifacts[${i}].checkpoint_path does not name a checkpoint artifact`);
    }
  }
  return null;
}
