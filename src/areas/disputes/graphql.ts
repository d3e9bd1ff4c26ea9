import { z } from 'zod';
import type { DisputeCase, DisputeCaseEvidence, DisputeCaseNote } from '../../generated/prisma/client.ts';
import { builder, type SchemaTypes } from '../../graphql/builder.ts';
import { authed, connectionArgs, policy, principalOf, rawId, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { enumFromZod, inputFromZod } from '../../graphql/inputs.ts';
import type { RequestContext } from '../../context.ts';
import {
  appendNote,
  assignCase,
  attachEvidence,
  caseAssignInput,
  caseCreateInput,
  caseEvidenceInput,
  caseLinkInput,
  caseListFilter,
  caseNoteInput,
  caseOutcome,
  casePriority,
  caseResolveInput,
  caseWhere,
  caseWithdrawInput,
  createCase,
  DISPUTE_READER,
  DISPUTE_WRITER,
  evidenceKind,
  linkDisputedIntent,
  resolveCase,
  withdrawCase,
} from './cases.ts';
import { caseStatus } from './state-machine.ts';
import './errors.ts';
import './limits.ts';
import './exports.ts';

export const AREA = 'disputes' as const;

const StatusEnum = enumFromZod(caseStatus);
const PriorityEnum = enumFromZod(casePriority);
const OutcomeEnum = enumFromZod(caseOutcome);
const EvidenceKindEnum = enumFromZod(evidenceKind);

const NoteType = builder.prismaObject('DisputeCaseNote', {
  description: 'A note on a dispute case. Append-only: never edited or deleted.',
  fields: (t) => ({
    noteId: t.exposeString('id', { description: 'Note id (dsn_…).' }),
    body: t.exposeString('body', { description: 'The note as written.' }),
    authorType: t.exposeString('authorType', { description: 'Kind of credential that wrote it: user, api_key or harbor.' }),
    authorId: t.exposeString('authorId', { description: 'User id (or API key id) of the author.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was written.' }),
  }),
});

const EvidenceType = builder.prismaObject('DisputeCaseEvidence', {
  description: 'An evidence reference attached to a dispute case, checked when attached. Append-only.',
  fields: (t) => ({
    evidenceId: t.exposeString('id', { description: 'Reference id (dse_…).' }),
    kind: t.field({ type: EvidenceKindEnum, description: 'What it points at.', resolve: (e) => e.kind as z.infer<typeof evidenceKind> }),
    description: t.exposeString('description', { nullable: true, description: 'What the evidence shows.' }),
    uri: t.exposeString('uri', { nullable: true, description: 'external: where the file is.' }),
    sha256: t.exposeString('sha256', { nullable: true, description: 'external: the file’s SHA-256; ledger_event: the event’s chain hash; intent_evidence: the payload digest (hex).' }),
    mediaType: t.exposeString('mediaType', { nullable: true, description: 'external: media type of the file.' }),
    ledgerSeq: t.exposeInt('ledgerSeq', { nullable: true, description: 'ledger_event: the event’s seq.' }),
    ledgerType: t.exposeString('ledgerType', { nullable: true, description: 'ledger_event: the event’s type, e.g. dispute.opened.' }),
    intentId: t.exposeString('intentId', { nullable: true, description: 'The intent the ledger event or submission belongs to.' }),
    intentEvidenceId: t.exposeString('intentEvidenceId', { nullable: true, description: 'intent_evidence: the submission’s id.' }),
    addedByType: t.exposeString('addedByType', { description: 'Kind of credential that attached it.' }),
    addedBy: t.exposeString('addedBy', { description: 'User id (or API key id) that attached it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was attached.' }),
  }),
});

const AssignmentType = builder.prismaObject('DisputeCaseAssignment', {
  description: 'One assignment of a dispute case (the assignment history).',
  fields: (t) => ({
    assignmentId: t.exposeString('id', { description: 'Assignment id (dsa_…).' }),
    assigneeId: t.exposeString('assigneeId', { description: 'User id of the member it was assigned to.' }),
    previousAssigneeId: t.exposeString('previousAssigneeId', { nullable: true, description: 'Who had it before, if anyone.' }),
    assignedByType: t.exposeString('assignedByType', { description: 'Kind of credential that assigned it.' }),
    assignedBy: t.exposeString('assignedBy', { description: 'User id (or API key id) that assigned it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When.' }),
  }),
});

const byTime = { orderBy: [{ createdAt: 'asc' as const }, { id: 'asc' as const }] };

builder.prismaNode('DisputeCase', {
  description: 'A dispute case: organization-scoped case management around a Harbor dispute.',
  id: { field: 'id' },
  // Another tenant's case resolves to null, like one that does not exist.
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    caseId: t.exposeString('id', { description: 'Case id (dsc_…), the REST case_id.' }),
    tenantId: t.exposeString('tenantId', { description: 'Tenant that owns the case.' }),
    title: t.exposeString('title', { description: 'Short title.' }),
    reason: t.exposeString('reason', { description: 'Why the case was opened.' }),
    status: t.field({ type: StatusEnum, description: 'open, under_review, resolved or withdrawn.', resolve: (c) => c.status as z.infer<typeof caseStatus> }),
    priority: t.field({ type: PriorityEnum, description: 'low, normal, high or urgent.', resolve: (c) => c.priority as z.infer<typeof casePriority> }),
    intentId: t.exposeString('intentId', { nullable: true, description: 'The Harbor intent the case is about.' }),
    linked: t.boolean({ description: 'True once the case is linked to the intent’s Harbor dispute (resolving the case resolves it).', resolve: (c) => c.disputeIntentId !== null }),
    disputeLedgerSeq: t.exposeInt('disputeLedgerSeq', { nullable: true, description: 'Ledger seq of the dispute.opened event the case is linked to.' }),
    linkedAt: t.expose('linkedAt', { type: 'DateTime', nullable: true, description: 'When it was linked.' }),
    amountCents: t.exposeInt('amountCents', { nullable: true, description: 'Amount in dispute, in minor units.' }),
    currency: t.exposeString('currency', { nullable: true, description: 'Currency of the amount.' }),
    assigneeId: t.exposeString('assigneeId', { nullable: true, description: 'User id of the member reviewing it.' }),
    outcome: t.field({ type: OutcomeEnum, nullable: true, description: 'The decision, once resolved.', resolve: (c) => c.outcome as z.infer<typeof caseOutcome> | null }),
    rationale: t.exposeString('rationale', { nullable: true, description: 'Why it was resolved (or withdrawn) so.' }),
    payeeAmountCents: t.exposeInt('payeeAmountCents', { nullable: true, description: 'Amount to the payee, once resolved.' }),
    payerAmountCents: t.exposeInt('payerAmountCents', { nullable: true, description: 'Amount back to the payer, once resolved.' }),
    resolutionLedgerSeq: t.exposeInt('resolutionLedgerSeq', { nullable: true, description: 'Ledger seq of the Harbor dispute.resolved event (linked cases).' }),
    createdBy: t.exposeString('createdBy', { description: '<credential kind>:<id> of who created it.' }),
    closedBy: t.exposeString('closedBy', { nullable: true, description: '<credential kind>:<id> of who resolved or withdrew it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed (a note or evidence counts).' }),
    closedAt: t.expose('closedAt', { type: 'DateTime', nullable: true, description: 'When it was resolved or withdrawn.' }),
    notes: t.relation('notes', { query: byTime, description: 'Notes, oldest first.' }),
    evidence: t.relation('evidence', { query: byTime, description: 'Evidence references, oldest first.' }),
    assignments: t.relation('assignments', { query: byTime, description: 'Assignment history, oldest first.' }),
    intent: t.prismaField({
      type: 'HarborIntent',
      nullable: true,
      description: 'The intent the case is about, with its current state.',
      resolve: (query, c, _a, ctx) => (c.intentId ? ctx.runtime.db.harborIntent.findUnique({ ...query, where: { tenantId_intentId: { tenantId: c.tenantId, intentId: c.intentId } } }) : null),
    }),
  }),
});

type Payload = { case?: DisputeCase; note?: DisputeCaseNote; evidence?: DisputeCaseEvidence; userErrors: UserErrorShape[] };

/** A payload's case, re-read with the caller's selection (null when the change was refused). */
const caseField = (t: PothosSchemaTypes.ObjectFieldBuilder<SchemaTypes, Payload>, description: string) =>
  t.prismaField({
    type: 'DisputeCase',
    nullable: true,
    description,
    resolve: (query, p, _a, ctx) => {
      // The selection is taken even without a case, so a refused change is not an unused query.
      const selection = { ...query };
      return p.case ? ctx.runtime.db.disputeCase.findUnique({ ...selection, where: { id: p.case.id } }) : null;
    },
  });

const CasePayload = builder.objectRef<Payload>('DisputeCasePayload').implement({
  description: 'A dispute case after a change.',
  fields: (t) => ({
    case: caseField(t, 'The case, when the change was made.'),
    userErrors: userErrorsField(t),
  }),
});

const NotePayload = builder.objectRef<Payload>('DisputeCaseNotePayload').implement({
  description: 'The note appended, and its case.',
  fields: (t) => ({
    case: caseField(t, 'The case.'),
    note: t.field({ type: NoteType, nullable: true, description: 'The note.', resolve: (p) => p.note ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const EvidencePayload = builder.objectRef<Payload>('DisputeCaseEvidencePayload').implement({
  description: 'The evidence reference attached, and its case.',
  fields: (t) => ({
    case: caseField(t, 'The case.'),
    evidence: t.field({ type: EvidenceType, nullable: true, description: 'The evidence reference.', resolve: (p) => p.evidence ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const CreateInput = inputFromZod('DisputeCaseCreateInput', caseCreateInput, 'A new dispute case.');
const LinkInput = inputFromZod('DisputeCaseLinkInput', caseLinkInput, 'The disputed intent to link, and optionally the case.');
const AssignInput = inputFromZod('DisputeCaseAssignInput', caseAssignInput, 'Who reviews the case.');
const NoteInput = inputFromZod('DisputeCaseNoteInput', caseNoteInput, 'A note.');
const EvidenceInput = inputFromZod('DisputeCaseEvidenceInput', caseEvidenceInput, 'An evidence reference.');
const ResolveInput = inputFromZod('DisputeCaseResolveInput', caseResolveInput, 'The decision.');
const WithdrawInput = inputFromZod('DisputeCaseWithdrawInput', caseWithdrawInput, 'Why the case is withdrawn.');

const caseIdArg = z.string().min(1).max(200);
const caseIdOf = (id: string) => rawId(id, 'DisputeCase');
const ctxOf = (ctx: RequestContext) => authed(ctx);

builder.queryFields((t) => ({
  disputeCase: t.prismaField({
    ...policy(DISPUTE_READER),
    type: 'DisputeCase',
    nullable: true,
    description: 'One dispute case of the caller’s tenant with its notes, evidence references, assignments and intent (null when there is none).',
    args: { caseId: t.arg.string({ required: true, description: 'The case id (or its global id).' }) },
    validate: z.object({ caseId: caseIdArg }),
    resolve: (query, _r, { caseId }, ctx) => ctx.runtime.db.disputeCase.findFirst({ ...query, where: { id: caseIdOf(caseId), tenantId: principalOf(ctx).tenantId } }),
  }),
  disputeCases: t.prismaConnection(
    {
      ...policy(DISPUTE_READER),
      type: 'DisputeCase',
      cursor: 'id',
      description: 'The tenant’s dispute cases, newest first, filtered by status, intent, priority or assignee.',
      args: {
        status: t.arg({ type: StatusEnum, required: false, description: 'Only cases with this status.' }),
        intentId: t.arg.string({ required: false, description: 'Only cases about this intent.' }),
        priority: t.arg({ type: PriorityEnum, required: false, description: 'Only cases with this priority.' }),
        assigneeId: t.arg.string({ required: false, description: 'Only cases assigned to this user id.' }),
        offset: t.arg.int({ required: false, description: 'Cases to skip before the first one returned (not with after or before).' }),
      },
      validate: connectionArgs
        .extend(caseListFilter.shape)
        .extend({ offset: z.number().int().min(0).max(100_000).nullish() })
        .refine((a) => !a.offset || (!a.after && !a.before), { message: 'offset cannot be combined with a cursor', path: ['offset'] }),
      totalCount: (_p, args, ctx) => ctx.runtime.db.disputeCase.count({ where: caseWhere(principalOf(ctx).tenantId, args) }),
      resolve: (query, _r, args, ctx) =>
        ctx.runtime.db.disputeCase.findMany({
          ...query,
          skip: ((query as { skip?: number }).skip ?? 0) + (args.offset ?? 0),
          where: caseWhere(principalOf(ctx).tenantId, args),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'DisputeCaseConnection', description: 'A page of dispute cases.' },
    { name: 'DisputeCaseEdge', description: 'A dispute case in a page.' },
  ),
}));

builder.mutationFields((t) => ({
  disputeCaseCreate: t.field({
    ...policy(DISPUTE_WRITER),
    type: CasePayload,
    description: 'Create a dispute case, optionally about an intent (audited).',
    args: { input: t.arg({ type: CreateInput, required: true, description: 'The case.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ case: await createCase(ctxOf(ctx), input) })),
  }),
  disputeCaseLinkDisputedIntent: t.field({
    ...policy(DISPUTE_WRITER),
    type: CasePayload,
    description: 'Link an intent’s open Harbor dispute to a case (the given open case, or a new one). One case per dispute.',
    args: { input: t.arg({ type: LinkInput, required: true, description: 'The intent and optionally the case.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ case: await linkDisputedIntent(ctxOf(ctx), { ...input, caseId: input.caseId ? caseIdOf(input.caseId) : undefined }) })),
  }),
  disputeCaseAssign: t.field({
    ...policy(DISPUTE_WRITER),
    type: CasePayload,
    description: 'Assign the case to a member of the tenant; the first assignment moves it to under_review.',
    args: { caseId: t.arg.string({ required: true, description: 'The case.' }), input: t.arg({ type: AssignInput, required: true, description: 'The assignee.' }) },
    validate: z.object({ caseId: caseIdArg }).passthrough(),
    resolve: (_r, { caseId, input }, ctx) => withUserErrors(async () => ({ case: await assignCase(ctxOf(ctx), caseIdOf(caseId), input) })),
  }),
  disputeCaseNoteAppend: t.field({
    ...policy(DISPUTE_WRITER),
    type: NotePayload,
    description: 'Append a note (author and time recorded; notes are never edited or deleted).',
    args: { caseId: t.arg.string({ required: true, description: 'The case.' }), input: t.arg({ type: NoteInput, required: true, description: 'The note.' }) },
    validate: z.object({ caseId: caseIdArg }).passthrough(),
    resolve: (_r, { caseId, input }, ctx) => withUserErrors(() => appendNote(ctxOf(ctx), caseIdOf(caseId), input)),
  }),
  disputeCaseEvidenceAttach: t.field({
    ...policy(DISPUTE_WRITER),
    type: EvidencePayload,
    description: 'Attach an evidence reference: a ledger event (checked by seq and hash), an evidence submission of the case’s intent, or an external file (URI, SHA-256, media type).',
    args: { caseId: t.arg.string({ required: true, description: 'The case.' }), input: t.arg({ type: EvidenceInput, required: true, description: 'The reference.' }) },
    validate: z.object({ caseId: caseIdArg }).passthrough(),
    resolve: (_r, { caseId, input }, ctx) => withUserErrors(() => attachEvidence(ctxOf(ctx), caseIdOf(caseId), input)),
  }),
  disputeCaseResolve: t.field({
    ...policy(DISPUTE_WRITER),
    type: CasePayload,
    description: 'Resolve a case under review with an outcome and rationale; a linked case resolves its Harbor dispute in the same transaction.',
    args: { caseId: t.arg.string({ required: true, description: 'The case.' }), input: t.arg({ type: ResolveInput, required: true, description: 'The decision.' }) },
    validate: z.object({ caseId: caseIdArg }).passthrough(),
    resolve: (_r, { caseId, input }, ctx) => withUserErrors(async () => ({ case: await resolveCase(ctxOf(ctx), caseIdOf(caseId), input) })),
  }),
  disputeCaseWithdraw: t.field({
    ...policy(DISPUTE_WRITER),
    type: CasePayload,
    description: 'Withdraw an open case that is not linked to a Harbor dispute.',
    args: { caseId: t.arg.string({ required: true, description: 'The case.' }), input: t.arg({ type: WithdrawInput, required: true, description: 'Why.' }) },
    validate: z.object({ caseId: caseIdArg }).passthrough(),
    resolve: (_r, { caseId, input }, ctx) => withUserErrors(async () => ({ case: await withdrawCase(ctxOf(ctx), caseIdOf(caseId), input) })),
  }),
}));

export { NoteType, EvidenceType, AssignmentType };
