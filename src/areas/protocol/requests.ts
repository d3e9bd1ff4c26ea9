import { z } from 'zod';
import { GATEWAY_VERIFIER_ID, HEX64, UUID } from './wire.ts';

/**
 * Request bodies of the protocol-v2 routes as the Paybond Kit SDK and its MCP server send them.
 * Only the envelope is checked here; the artifacts inside (mandate, proof, receipt) are checked by
 * their own verifiers so that each failure keeps its own code.
 */

const jsonObject = z.record(z.string(), z.unknown());

/** `POST /protocol/v2/mandates`: the SDK always sends `transport_binding` (`{}` when none). */
export const mandateImportRequest = z.object({
  signed_mandate: jsonObject,
  intent_id: z.string().trim().regex(UUID, 'must be a UUID'),
  transport_binding: jsonObject.nullish(),
  recognition_proof: jsonObject,
});
export type MandateImportRequest = z.output<typeof mandateImportRequest>;

/**
 * `POST /protocol/v2/recognition/verify`. `expected_verifier` is what the caller believes; the
 * route should verify against the authenticated tenant (or the verifier the proof names, when
 * public) rather than trust it.
 */
export const recognitionVerifyRequest = z.object({
  proof: jsonObject,
  expected_purpose: z.string().trim().min(1).max(128),
  expected_verifier: z
    .object({ tenant_id: z.string().trim().min(1).max(256), verifier_id: z.string().trim().min(1).max(128).default(GATEWAY_VERIFIER_ID) })
    .optional(),
  expected_request: z.object({
    method: z
      .string()
      .trim()
      .min(1)
      .max(16)
      .transform((m) => m.toUpperCase()),
    path: z.string().trim().startsWith('/').max(2048),
    body_digest_sha256_hex: z
      .string()
      .trim()
      .transform((v) => v.toLowerCase())
      .pipe(z.string().regex(HEX64, 'must be 64 hex characters')),
  }),
});
export type RecognitionVerifyRequest = z.output<typeof recognitionVerifyRequest>;

/**
 * `POST /protocol/v2/receipts/verify`: the SDK posts the receipt itself; its CLI posts only
 * `{receipt_id}` (look the receipt up for the caller's tenant).
 */
export function classifyReceiptVerifyBody(body: unknown): { by: 'receipt'; receipt: Record<string, unknown> } | { by: 'id'; receiptId: string } | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const keys = Object.keys(body);
  const id = (body as Record<string, unknown>).receipt_id;
  if (keys.length === 1 && typeof id === 'string' && id.trim()) return { by: 'id', receiptId: id.trim().toLowerCase() };
  return { by: 'receipt', receipt: body as Record<string, unknown> };
}
