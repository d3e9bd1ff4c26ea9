/**
 * Failures of the pure Signal model. `code` is a stable snake_case string; the gateway maps it to
 * its own error type (most are 400 for bad input, `signature_invalid` etc. are verification results).
 */
export type SignalModelErrorCode =
  | 'invalid_timestamp'
  | 'timestamp_out_of_range'
  | 'events_out_of_order'
  | 'intent_record_missing'
  | 'intent_binding_mismatch'
  | 'evidence_binding_mismatch'
  | 'dispute_outcome_missing'
  | 'watermark_before_state'
  | 'operator_mismatch'
  | 'invalid_model_params'
  | 'payload_not_integer'
  | 'payload_unencodable'
  | 'invalid_signing_key'
  | 'invalid_window'
  | 'invalid_review_event'
  | 'review_outcome_required';

export class SignalModelError extends Error {
  override readonly name = 'SignalModelError';
  constructor(
    readonly code: SignalModelErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
