/**
 * Failures of the webhook core, each with a stable snake_case `code`. Kept free of the gateway's
 * error types so the area can be wired later; the caller maps codes to its own client errors.
 */
export type WebhookErrorCode =
  // secrets.ts
  | 'server_secret_too_short'
  | 'invalid_secret'
  | 'secret_unreadable'
  | 'invalid_overlap'
  | 'invalid_message_id'
  | 'no_signing_secret'
  // ssrf.ts
  | 'invalid_url'
  | 'scheme_not_allowed'
  | 'credentials_in_url'
  | 'port_not_allowed'
  | 'address_not_allowed'
  | 'dns_failed'
  // catalog.ts
  | 'unknown_event_type'
  | 'invalid_event_data';

export class WebhookError extends Error {
  override readonly name = 'WebhookError';
  constructor(
    readonly code: WebhookErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const isWebhookError = (error: unknown, code?: WebhookErrorCode): error is WebhookError =>
  error instanceof WebhookError && (code === undefined || error.code === code);
