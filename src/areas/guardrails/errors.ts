import { defineErrorCodes } from '../../kernel/errors.ts';

/** Guardrail codes: enforce-mode denials and the fail-closed observe audit. */
export const guardrailsErrorCodes = defineErrorCodes({
  guardrail_violation: 403,
  guardrail_audit_unavailable: 503,
});

type GuardrailsErrorCodes = typeof guardrailsErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends GuardrailsErrorCodes {}
}
