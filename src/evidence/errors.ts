/**
 * Failures of the evidence core. `code` is a stable snake_case string; the gateway maps it to its
 * own error type, the offline verifier prints it.
 */
export class EvidenceError extends Error {
  override readonly name = 'EvidenceError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** One failed check of a bundle or pack: where (file, row) and which check. */
export interface VerifyFailure {
  /** Path of the file inside the bundle (or the pack file's own name). */
  file: string;
  /** 1-based line number inside `file`, when the failure is about one row. */
  row?: number;
  /** Stable snake_case name of the check that failed. */
  check: string;
  message: string;
}
