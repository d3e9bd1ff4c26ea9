import { defineErrorCodes } from '../../kernel/errors.ts';

/**
 * Protocol-v2 codes. Each refusal of a mandate, receipt or proof has its own code, so a caller
 * can tell a tampered artifact (digest or signature) from an expired one or a malformed one.
 */
export const protocolErrorCodes = defineErrorCodes({
  mandate_malformed: 400,
  mandate_unsupported_version: 400,
  mandate_unsupported_algorithm: 400,
  mandate_digest_mismatch: 422,
  mandate_signature_invalid: 422,
  mandate_expired: 422,
  mandate_tenant_mismatch: 422,
  mandate_agent_key_mismatch: 422,
  mandate_amount_exceeded: 422,
  mandate_currency_mismatch: 422,
  mandate_rail_not_allowed: 422,
  mandate_expires_before_deadline: 422,
  mandate_already_bound: 409,
  mandate_already_imported: 409,
  protocol_intent_id_invalid: 422,
  protocol_tenant_id_unsupported: 409,
  protocol_not_terminal: 409,
  transport_binding_invalid: 400,
  receipt_malformed: 400,
  receipt_unsupported_kind: 400,
  receipt_unsupported_version: 400,
  receipt_unsupported_algorithm: 400,
  receipt_digest_mismatch: 422,
  receipt_signature_invalid: 422,
  receipt_signer_untrusted: 422,
  receipt_tenant_mismatch: 422,
  recognition_key_unknown: 422,
  task_contract_not_found: 404,
});

type ProtocolErrorCodes = typeof protocolErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends ProtocolErrorCodes {}
}
