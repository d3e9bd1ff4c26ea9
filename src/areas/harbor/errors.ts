import { defineErrorCodes } from '../../kernel/errors.ts';

/** Harbor codes: recognition gate, principal and payee signatures. */
export const harborErrorCodes = defineErrorCodes({
  recognition_proof_required: 401,
  recognition_proof_invalid: 401,
  recognition_proof_expired: 401,
  recognition_proof_replayed: 401,
  principal_signature_invalid: 401,
  evidence_signature_invalid: 401,
});

type HarborErrorCodes = typeof harborErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends HarborErrorCodes {}
}
