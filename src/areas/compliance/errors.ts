import { defineErrorCodes } from '../../kernel/errors.ts';

/** Compliance export and verification codes. */
export const complianceErrorCodes = defineErrorCodes({
  /** The export is not (yet) downloadable: pending, running or failed (details.status says which). */
  export_not_ready: 409,
  /** The export was deleted (DELETE) or expired after its retention: its bundle is gone. */
  export_deleted: 410,
  export_expired: 410,
  /** The download token is missing, malformed, for another purpose, or expired. */
  download_token_invalid: 401,
  download_token_expired: 401,
  /** An uploaded verifier pack that is not a pack at all (a pack that fails its checks is a 200 report). */
  verifier_input_unreadable: 422,
});

type ComplianceErrorCodes = typeof complianceErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends ComplianceErrorCodes {}
}
