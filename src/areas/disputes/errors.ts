import { defineErrorCodes } from '../../kernel/errors.ts';

/** Dispute case codes (an illegal status move is the kernel's invalid_state_transition, 409). */
export const disputeErrorCodes = defineErrorCodes({
  /** The case is resolved or withdrawn: it is read-only. */
  case_closed: 409,
  /** The intent has no open Harbor dispute (it is not in state disputed). */
  dispute_not_open: 409,
  /** The intent's open dispute already has a case. */
  dispute_already_linked: 409,
  /** The case is already linked to a Harbor dispute. */
  case_already_linked: 409,
  /** A linked case cannot be withdrawn while its Harbor dispute is open. */
  case_linked_to_dispute: 409,
  /** The linked Harbor dispute was resolved elsewhere with another outcome. */
  dispute_outcome_conflict: 409,
  /** The case is about another intent than the one named. */
  case_intent_mismatch: 422,
  /** The amount in dispute exceeds the intent's amount, or its currency differs. */
  case_amount_invalid: 422,
  /** The assignee is not a member of the tenant. */
  assignee_not_member: 422,
  /** The evidence reference names nothing that exists in the tenant (ledger event, intent evidence). */
  evidence_reference_not_found: 422,
  /** The ledger event exists but its hash is not the one given. */
  evidence_hash_mismatch: 422,
  /** The evidence reference is incomplete for its kind. */
  evidence_reference_invalid: 422,
  /** The resolution amounts do not add up to the amount in dispute (or contradict the outcome). */
  resolution_amounts_invalid: 422,
});

type DisputeErrorCodes = typeof disputeErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends DisputeErrorCodes {}
}
