import { DomainError, defineErrorCodes } from '../../kernel/errors.ts';

/**
 * Failures of the webhook core (catalog, deliver, secrets, ssrf), each with a stable snake_case
 * `code`. The core throws WebhookError; the routes turn input errors into the gateway's codes
 * (defined below) with toDomainError.
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

/** The gateway's codes for webhook routes: each WebhookError of a URL or event type maps to one. */
export const webhookErrorCodes = defineErrorCodes({
  webhook_url_invalid: 400,
  webhook_url_scheme_not_allowed: 400,
  webhook_url_credentials_not_allowed: 400,
  webhook_url_port_not_allowed: 400,
  webhook_url_address_not_allowed: 400,
  webhook_url_unresolvable: 422,
  webhook_event_type_unknown: 400,
  webhook_endpoint_limit_reached: 409,
  webhook_endpoint_disabled: 409,
});

type WebhookErrorCodes = typeof webhookErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends WebhookErrorCodes {}
}

const DOMAIN_CODES: Partial<Record<WebhookErrorCode, keyof WebhookErrorCodes>> = {
  invalid_url: 'webhook_url_invalid',
  scheme_not_allowed: 'webhook_url_scheme_not_allowed',
  credentials_in_url: 'webhook_url_credentials_not_allowed',
  port_not_allowed: 'webhook_url_port_not_allowed',
  address_not_allowed: 'webhook_url_address_not_allowed',
  dns_failed: 'webhook_url_unresolvable',
  unknown_event_type: 'webhook_event_type_unknown',
};

/** A WebhookError about the caller's input as a DomainError (anything else is rethrown as is). */
export function toDomainError(error: unknown, field?: string): unknown {
  if (!(error instanceof WebhookError)) return error;
  const code = DOMAIN_CODES[error.code];
  if (!code) return error;
  const details = error.code === 'address_not_allowed' ? { category: error.details.category } : error.code === 'unknown_event_type' ? { type: error.details.type } : undefined;
  return new DomainError(code, error.message, { field: field ? [field] : undefined, details });
}
