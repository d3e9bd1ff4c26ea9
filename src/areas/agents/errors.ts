import { defineErrorCodes } from '../../kernel/errors.ts';

/** Agent Security Mode codes: PATs, agent sessions, trusted keys and signed requests. */
export const agentsErrorCodes = defineErrorCodes({
  nonce_invalid: 401,
  signature_missing: 401,
  signature_invalid: 401,
  signature_expired: 401,
  signature_replayed: 401,
  key_not_bound: 401,
  unregistered_key: 401,
  revoked_key: 403,
  agent_security_mode_disabled: 403,
  ambiguous_agent_key: 409,
});

type AgentsErrorCodes = typeof agentsErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends AgentsErrorCodes {}
}
