import './errors.ts';
import type { z } from 'zod';
import { DomainError } from '../../kernel/errors.ts';
import { describedEnum } from '../../kernel/json-schema.ts';

/**
 * Case lifecycle: open → under_review (the first assignment) → resolved, and open → withdrawn.
 * Every allowed move is a row here; anything else is a 409 invalid_state_transition. A resolved or
 * withdrawn case is read-only: any later write is a 409 case_closed.
 */
export const caseStatus = describedEnum('DisputeCaseStatus', 'Where a dispute case is.', {
  open: 'Created or linked; nobody is reviewing it yet.',
  under_review: 'Assigned to a member who reviews it.',
  resolved: 'Decided with an outcome and rationale (read-only).',
  withdrawn: 'Withdrawn before review (read-only).',
});
export type CaseStatus = z.infer<typeof caseStatus>;

export type CaseAction = 'assign' | 'resolve' | 'withdraw';

const table: Record<CaseAction, Partial<Record<CaseStatus, CaseStatus>>> = {
  // Reassigning a case under review keeps it under review.
  assign: { open: 'under_review', under_review: 'under_review' },
  resolve: { under_review: 'resolved' },
  withdraw: { open: 'withdrawn' },
};

export const CLOSED: ReadonlySet<string> = new Set<CaseStatus>(['resolved', 'withdrawn']);

/** Refuse any write to a closed case. */
export function assertWritable(status: string): void {
  if (CLOSED.has(status)) throw new DomainError('case_closed', `The case is ${status} and read-only`, { details: { status } });
}

export function nextCaseStatus(from: string, action: CaseAction): CaseStatus {
  assertWritable(from);
  const to = table[action][from as CaseStatus];
  if (!to) {
    throw new DomainError('invalid_state_transition', `Cannot ${action} a case that is ${from}${action === 'resolve' ? ': assign it for review first' : ''}`, {
      details: { status: from, action, allowed_from: Object.keys(table[action]) },
    });
  }
  return to;
}
