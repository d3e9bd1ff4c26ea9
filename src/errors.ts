import { GraphQLError } from 'graphql';

/**
 * The one map from a stable error code to its HTTP status. REST uses it for the response status;
 * GraphQL puts the same code (upper-cased) in `extensions.code` and the status in
 * `extensions.http.status`.
 */
export const errorStatus = {
  invalid_request: 400,
  invalid_json: 400,
  query_too_complex: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  unauthenticated: 401,
  invalid_credentials: 401,
  token_expired: 401,
  credential_revoked: 401,
  tenant_mismatch: 401,
  refresh_token_reused: 401,
  challenge_failed: 401,
  nonce_invalid: 401,
  signature_missing: 401,
  signature_invalid: 401,
  signature_expired: 401,
  signature_replayed: 401,
  key_not_bound: 401,
  recognition_proof_required: 401,
  recognition_proof_invalid: 401,
  recognition_proof_expired: 401,
  recognition_proof_replayed: 401,
  unregistered_key: 401,
  principal_signature_invalid: 401,
  evidence_signature_invalid: 401,
  forbidden: 403,
  guardrail_violation: 403,
  environment_mismatch: 403,
  agent_security_mode_disabled: 403,
  revoked_key: 403,
  not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  payment_required: 402,
  conflict: 409,
  invalid_state_transition: 409,
  idempotency_in_flight: 409,
  ambiguous_agent_key: 409,
  unprocessable: 422,
  idempotency_key_mismatch: 422,
  unsupported_signing_version: 422,
  settlement_rail_not_allowed: 422,
  predicate_error: 422,
  idempotency_key_required: 428,
  precondition_required: 428,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
  overloaded: 503,
  guardrail_audit_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export interface FieldIssue {
  field: string[];
  message: string;
}

/**
 * A rule said no. Thrown by domain services; never carries secrets in message or details.
 * It is a GraphQLError carrying its own code and HTTP status, so it passes through execution,
 * masking and the REST router unchanged.
 */
export class DomainError extends GraphQLError {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly field: string[] | undefined;
  /** Extra response headers (Retry-After, WWW-Authenticate…). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; field?: string[]; headers?: Record<string, string> } = {},
  ) {
    super(message, {
      extensions: {
        code: graphqlCode(code),
        http: { status: errorStatus[code], ...(options.headers ? { headers: options.headers } : {}) },
        ...(options.details ? { details: options.details } : {}),
        ...(options.field ? { field: options.field } : {}),
      },
    });
    this.name = 'DomainError';
    this.code = code;
    this.details = options.details;
    this.field = options.field;
    this.headers = options.headers;
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

export const statusOf = (code: string): number => (errorStatus as Record<string, number>)[code] ?? 500;

export function graphqlCode(code: string): string {
  return code.toUpperCase();
}
export const restCode = (graphqlCodeValue: string): string => graphqlCodeValue.toLowerCase();

/** True for any error that already says what it is (a code), whichever graphql copy made it. */
export function hasErrorCode(error: unknown): error is GraphQLError {
  const ext = (error as { extensions?: { code?: unknown } } | null)?.extensions;
  return typeof ext?.code === 'string';
}

export const notFound = (what: string) => new DomainError('not_found', `${what} not found`);
