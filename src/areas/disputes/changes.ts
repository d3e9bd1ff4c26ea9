/**
 * The changes a dispute case goes through, each audited as `disputes.<change>` in the transaction
 * that makes it (src/areas/disputes/cases.ts) and announced as the webhook event
 * `dispute_case.updated` with `change` set to it (src/areas/webhooks/outbox.ts).
 */
export const DISPUTE_CASE_CHANGES = ['case_created', 'case_linked', 'case_assigned', 'note_added', 'evidence_attached', 'case_resolved', 'case_withdrawn'] as const;

export type DisputeCaseChange = (typeof DISPUTE_CASE_CHANGES)[number];
