import { DomainError, defineErrorCodes } from '../../kernel/errors.ts';
import { SignalModelError } from './model/errors.ts';

/** Signal codes: the release hold, the gate's reliability refusal and review-event input errors. */
export const signalErrorCodes = defineErrorCodes({
  /** A release was held by a critical fraud signal under critical_hold (the intent stays settlement_pending). */
  fraud_release_hold: 409,
  /** critical_hold was refused: the review metrics behind it are not reliable yet. */
  release_gate_unreliable: 409,
  invalid_review_event: 400,
  review_outcome_required: 400,
});

type SignalErrorCodes = typeof signalErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends SignalErrorCodes {}
}

/** Run a model parser of caller input: its refusals become the gateway's 400s. */
export function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    asDomainError(error);
  }
}

/** A model refusal of caller input as the gateway's error (400); anything else is a bug and is rethrown. */
function asDomainError(error: unknown): never {
  if (error instanceof SignalModelError) {
    const field = typeof error.details.field === 'string' ? [error.details.field] : undefined;
    if (error.code === 'invalid_review_event' || error.code === 'review_outcome_required') throw new DomainError(error.code, error.message, { field });
    if (error.code === 'invalid_window') throw new DomainError('invalid_request', error.message, { field });
  }
  throw error;
}
