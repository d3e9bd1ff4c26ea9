import { defineErrorCodes } from '../../kernel/errors.ts';

/**
 * Stable failure codes of the SSO protocol core. Each names one reason a login was refused; the
 * callback handler audits the code (and `detail`) and maps it to the gateway's own error.
 */
export const ssoErrorCodes = [
  // Connection configuration
  'sso_config_invalid',
  'insecure_issuer',
  'discovery_failed',
  // OIDC authorization response
  'issuer_mismatch',
  'state_missing',
  'state_mismatch',
  'access_denied',
  'idp_error',
  // OIDC token endpoint and ID token
  'pkce_failed',
  'code_rejected',
  'token_request_failed',
  'id_token_missing',
  'id_token_invalid',
  'nonce_mismatch',
  'userinfo_failed',
  'email_unverified',
  // SAML
  'saml_malformed',
  'saml_doctype_forbidden',
  'saml_comment_forbidden',
  'saml_multiple_assertions',
  'saml_encrypted_unsupported',
  'saml_weak_algorithm',
  'saml_signature_invalid',
  'saml_status_error',
  'saml_issuer_mismatch',
  'saml_audience_mismatch',
  'saml_destination_mismatch',
  'saml_recipient_mismatch',
  'saml_not_yet_valid',
  'saml_expired',
  'saml_in_response_to_invalid',
  'saml_subject_invalid',
  'saml_replay',
  // Secret box
  'secret_box_invalid',
] as const;

export type SsoErrorCode = (typeof ssoErrorCodes)[number];

export class SsoError extends Error {
  override readonly name = 'SsoError';
  constructor(
    readonly code: SsoErrorCode,
    /** Finer reason inside the code (e.g. which ID token claim failed); safe to audit, never secret. */
    readonly detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail ? `${code}: ${detail}` : code, options);
  }
}

export const isSsoError = (error: unknown, code?: SsoErrorCode): error is SsoError =>
  error instanceof SsoError && (code === undefined || error.code === code);

// ─── Gateway codes (REST / GraphQL) ───────────────────────────────────────────

/**
 * What the SSO routes and the support-session gate answer. A protocol failure is one code
 * (`sso_login_failed`, with the `SsoError` code as `details.reason`): the audit event keeps the
 * finer detail.
 */
export const ssoGatewayErrorCodes = defineErrorCodes({
  sso_login_failed: 401,
  sso_user_not_provisioned: 403,
  sso_return_to_not_allowed: 400,
  sso_connection_untested: 409,
  sso_connection_invalid: 422,
  sso_entitlement_not_allowed: 422,
  sso_handoff_invalid: 401,
  support_agent_required: 403,
  support_session_read_only: 403,
});

type SsoGatewayErrorCodes = typeof ssoGatewayErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends SsoGatewayErrorCodes {}
}
