import { defineErrorCodes } from '../../kernel/errors.ts';

/**
 * Settlement codes: one per unmet requirement of a configuration (config-rules.ts), Stripe
 * destination linking, Stripe calls and inbound Stripe webhooks (stripe.ts).
 */
export const settlementErrorCodes = defineErrorCodes({
  settlement_rail_not_allowed: 422,
  settlement_rail_unsupported: 422,
  settlement_default_rail_not_allowed: 422,
  stripe_not_configured: 422,
  stripe_destination_required: 422,
  stripe_destination_inactive: 422,
  stripe_destination_mode_mismatch: 422,
  stripe_destination_not_ready: 422,
  stripe_ach_debit_not_ready: 422,
  stripe_destination_taken: 409,
  sandbox_uses_simulator: 422,
  x402_address_required: 422,
  x402_address_malformed: 422,
  x402_address_not_checksummed: 422,
  x402_address_checksum_mismatch: 422,
  x402_address_zero: 422,
  stripe_account_id_invalid: 422,
  stripe_account_not_found: 422,
  stripe_permission_denied: 422,
  stripe_authentication_failed: 502,
  stripe_request_failed: 502,
  stripe_unavailable: 503,
  stripe_rate_limited: 503,
  stripe_webhook_not_configured: 503,
  stripe_signature_missing: 400,
  stripe_signature_invalid: 400,
  stripe_signature_expired: 400,
  stripe_signature_from_future: 400,
  stripe_event_invalid: 400,
});

type SettlementErrorCodes = typeof settlementErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends SettlementErrorCodes {}
}
