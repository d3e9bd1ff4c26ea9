import { GraphQLError } from 'graphql';

/** HTTP statuses an error code may map to. */
export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 405 | 409 | 410 | 413 | 415 | 422 | 428 | 429 | 500 | 502 | 503;

/**
 * Codes every area shares: the pipeline's own and the generic business ones. An area adds its own
 * codes in its `errors.ts` with defineErrorCodes() and a module augmentation of ErrorCodes, so a
 * new area never edits this file and every thrown code is still checked by the compiler.
 */
const KERNEL_CODES = {
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
  forbidden: 403,
  sandbox_environment_required: 403,
  not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  invalid_state_transition: 409,
  idempotency_in_flight: 409,
  gone: 410,
  idempotency_key_mismatch: 422,
  predicate_error: 422,
  precondition_required: 428,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
  overloaded: 503,
} as const satisfies Record<string, ErrorStatus>;

type KernelCodes = typeof KERNEL_CODES;
/** Every error code: the kernel's, plus each area's (added by module augmentation). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ErrorCodes extends KernelCodes {}
export type ErrorCode = keyof ErrorCodes & string;

const registry = new Map<string, ErrorStatus>(Object.entries(KERNEL_CODES));

/**
 * Register an area's codes (once, at import of the area's errors module). A code may be defined
 * once only, so two areas can never disagree about its status.
 */
export function defineErrorCodes<const M extends Record<string, ErrorStatus>>(codes: M): M {
  for (const [code, status] of Object.entries(codes)) {
    const existing = registry.get(code);
    if (existing !== undefined && existing !== status) throw new Error(`error code ${code} is already defined with status ${existing}`);
    registry.set(code, status);
  }
  return codes;
}

/** Every registered code and its status (the GraphQL ErrorCode enum and OpenAPI are built from it). */
export const registeredErrorCodes = (): ReadonlyMap<string, ErrorStatus> => registry;

export const statusOf = (code: string): number => registry.get(code) ?? 500;

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
        http: { status: statusOf(code), ...(options.headers ? { headers: options.headers } : {}) },
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
    return statusOf(this.code);
  }
}

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
