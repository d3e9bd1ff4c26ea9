import './errors.ts';
import { z } from 'zod';
import type { DisputeCase, HarborIntent, Prisma } from '../../generated/prisma/client.ts';
import type { Principal, ServiceContext } from '../../context.ts';
import type { Tx } from '../../db.ts';
import { newId } from '../../crypto/hash.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import type { FieldPolicy } from '../../kernel/policy.ts';
import { currency } from '../harbor/intents.ts';
import { step } from '../harbor/lifecycle.ts';
import { assertWritable, caseStatus, nextCaseStatus } from './state-machine.ts';
import type { DisputeCaseChange } from './changes.ts';

/*
 * Dispute cases: organization-scoped case management around Harbor's dispute lifecycle. Every
 * write locks the case row first (so a note cannot slip in after the resolution), checks the case
 * state machine, and commits with its redacted audit event; resolving a linked case moves the
 * Harbor intent disputed → resolved in the same transaction through Harbor's own state machine,
 * with its dispute.resolved ledger event.
 */

export type CaseCtx = ServiceContext & { principal: Principal };

/** Cases are for the tenant's people and machines (sessions, API keys, Harbor tokens), never agents or PATs. */
export const DISPUTE_READER: FieldPolicy = { principals: ['user', 'api_key', 'harbor'], scope: 'harbor:read' };
/** Writes need write access: tenant admins (tenant_admin role or tenant.admin entitlement) and service keys; read-only members only read. */
export const DISPUTE_WRITER: FieldPolicy = { ...DISPUTE_READER, scope: 'harbor:write', rateLimit: 'dispute_case_mutation' };
/** The arbitration package is a read, counted in its own group. */
export const DISPUTE_EXPORTER: FieldPolicy = { ...DISPUTE_READER, rateLimit: 'dispute_arbitration_export' };

export const casePriority = describedEnum('DisputeCasePriority', 'How urgent a dispute case is.', {
  low: 'Low.',
  normal: 'Normal (default).',
  high: 'High.',
  urgent: 'Urgent.',
});

export const caseOutcome = describedEnum('DisputeCaseOutcome', 'How a dispute case was decided.', {
  payee_wins: 'The payee keeps the whole amount (Harbor outcome release).',
  payer_wins: 'The payer gets the whole amount back (Harbor outcome refund).',
  split: 'The amount is split; payee and payer amounts add up to the amount in dispute (Harbor outcome split).',
});
type Outcome = z.infer<typeof caseOutcome>;
const HARBOR_OUTCOME: Record<Outcome, 'release' | 'refund' | 'split'> = { payee_wins: 'release', payer_wins: 'refund', split: 'split' };

export const evidenceKind = describedEnum('DisputeEvidenceKind', 'What an evidence reference points at.', {
  ledger_event: 'An event of the tenant’s ledger, by seq (and optionally its chain hash, checked).',
  intent_evidence: 'An evidence submission of the case’s intent, by id or payload digest.',
  external: 'A file outside the gateway: its URI, SHA-256 and media type.',
});

const MAX_CENTS = 2_147_483_647;
const intentId = z.string().trim().min(1).max(200);
const cents = z.number().int().min(0).max(MAX_CENTS);
const hex64 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (SHA-256)');
const caseIdOf = z.string().min(1).max(100);

export const caseCreateInput = z
  .object({
    title: z.string().trim().min(3).max(200).describe('Short title for the case list.'),
    reason: z.string().trim().min(3).max(4000).describe('Why the case is opened.'),
    intentId: intentId.optional().describe('The Harbor intent the case is about (its intent_id).'),
    amountCents: cents.min(1).optional().describe('Amount in dispute, in minor units (default: the intent’s amount).'),
    currency: currency.optional().describe('Currency of the amount (default: the intent’s; required with amount_cents when there is no intent).'),
    priority: casePriority.default('normal').describe('low, normal (default), high or urgent.'),
  })
  .refine((i) => i.intentId || i.amountCents === undefined || i.currency, { message: 'currency is required with amount_cents when the case has no intent', path: ['currency'] });
export type CaseCreateInput = z.infer<typeof caseCreateInput>;

export const caseLinkInput = z.object({
  intentId: intentId.describe('The intent whose Harbor dispute is open.'),
  caseId: caseIdOf.optional().describe('An existing open case to link; without it a new case is created for the dispute.'),
  title: z.string().trim().min(3).max(200).optional().describe('Title of the new case (default: “Dispute on intent <intent_id>”).'),
  reason: z.string().trim().min(3).max(4000).optional().describe('Reason of the new case (default: linked from the open Harbor dispute).'),
  priority: casePriority.optional().describe('Priority of the new case (default normal).'),
});
export type CaseLinkInput = z.infer<typeof caseLinkInput>;

export const caseAssignInput = z.object({
  assigneeId: z.string().trim().min(1).max(100).describe('User id of a member of the tenant.'),
});

export const caseNoteInput = z.object({
  body: z.string().trim().min(1).max(10_000).describe('The note (append-only: notes are never edited or deleted).'),
});

const SAFE_SCHEMES = new Set(['https:', 'http:', 's3:', 'gs:', 'ipfs:', 'ar:', 'urn:']);

export const caseEvidenceInput = z
  .object({
    kind: evidenceKind.optional().describe('ledger_event, intent_evidence or external (inferred from the fields when omitted).'),
    uri: z
      .string()
      .max(2048)
      .refine((u) => URL.canParse(u) && SAFE_SCHEMES.has(new URL(u).protocol), 'must be an absolute https, http, s3, gs, ipfs, ar or urn URI')
      .optional()
      .describe('external: where the file is.'),
    sha256: hex64.optional().describe('external: SHA-256 of the file. ledger_event: the event’s chain hash (checked). intent_evidence: the submission’s payload digest.'),
    mediaType: z
      .string()
      .max(255)
      .regex(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(\s*;.*)?$/, 'must be a media type such as application/pdf')
      .optional()
      .describe('external: media type of the file, e.g. application/pdf.'),
    ledgerSeq: z.number().int().min(1).max(MAX_CENTS).optional().describe('ledger_event: the event’s seq in the tenant’s ledger.'),
    evidenceId: z.string().min(1).max(100).optional().describe('intent_evidence: the submission’s id (evd_…).'),
    description: z.string().trim().max(2000).optional().describe('What the evidence shows.'),
  })
  .superRefine((input, ctx) => {
    const kind = input.kind ?? inferKind(input);
    const need = (field: 'uri' | 'sha256' | 'mediaType' | 'ledgerSeq', label: string) => {
      if (input[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `is required for ${label} evidence` });
    };
    if (!kind) ctx.addIssue({ code: 'custom', path: ['kind'], message: 'give ledger_seq, evidence_id or sha256 (intent evidence), or uri with sha256 and media_type' });
    if (kind === 'external') (need('uri', 'external'), need('sha256', 'external'), need('mediaType', 'external'));
    if (kind === 'ledger_event') need('ledgerSeq', 'ledger_event');
    if (kind === 'intent_evidence' && !input.evidenceId && !input.sha256) ctx.addIssue({ code: 'custom', path: ['evidenceId'], message: 'evidence_id or sha256 is required for intent_evidence evidence' });
  });
export type CaseEvidenceInput = z.infer<typeof caseEvidenceInput>;

function inferKind(input: { uri?: string; ledgerSeq?: number; evidenceId?: string; sha256?: string }): z.infer<typeof evidenceKind> | undefined {
  if (input.uri !== undefined) return 'external';
  if (input.ledgerSeq !== undefined) return 'ledger_event';
  if (input.evidenceId !== undefined || input.sha256 !== undefined) return 'intent_evidence';
  return undefined;
}

export const caseResolveInput = z.object({
  outcome: caseOutcome.describe('payee_wins, payer_wins or split.'),
  rationale: z.string().trim().min(3).max(4000).describe('Why; kept on the case and in the Harbor dispute’s ledger event.'),
  payeeAmountCents: cents.optional().describe('Amount to the payee (required for split).'),
  payerAmountCents: cents.optional().describe('Amount back to the payer (required for split).'),
});
export type CaseResolveInput = z.infer<typeof caseResolveInput>;

export const caseWithdrawInput = z.object({
  reason: z.string().trim().min(3).max(4000).describe('Why the case is withdrawn.'),
});

export const caseListFilter = z.object({
  status: caseStatus.nullish(),
  intentId: intentId.nullish(),
  priority: casePriority.nullish(),
  assigneeId: z.string().max(100).nullish(),
});

// ─── Reads ──────────────────────────────────────────────────────────────────

const actorString = (p: Principal) => `${p.kind}:${p.subjectId}`;
const normalIntent = (id: string) => id.trim().toLowerCase();

export function caseWhere(tenantId: string, filter: z.infer<typeof caseListFilter>): Prisma.DisputeCaseWhereInput {
  return {
    tenantId,
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.intentId ? { intentId: normalIntent(filter.intentId) } : {}),
    ...(filter.priority ? { priority: filter.priority } : {}),
    ...(filter.assigneeId ? { assigneeId: filter.assigneeId } : {}),
  };
}

/** A case of the caller's tenant, or null (another tenant's case looks exactly like a missing one). */
export function findCase(ctx: CaseCtx, caseId: string): Promise<DisputeCase | null> {
  return ctx.runtime.db.disputeCase.findFirst({ where: { id: caseId, tenantId: ctx.principal.tenantId } });
}

/** Lock the case row for the rest of the transaction, then read it. */
async function lockCase(tx: Tx, tenantId: string, caseId: string): Promise<DisputeCase> {
  const [row] = await tx.$queryRaw<DisputeCase[]>`SELECT * FROM "DisputeCase" WHERE "id" = ${caseId} AND "tenantId" = ${tenantId} FOR UPDATE`;
  if (!row) throw notFound('Dispute case');
  return row;
}

async function intentOf(db: Pick<Tx, 'harborIntent'>, tenantId: string, id: string): Promise<HarborIntent> {
  const intent = await db.harborIntent.findUnique({ where: { tenantId_intentId: { tenantId, intentId: normalIntent(id) } } });
  if (!intent) throw notFound('Intent');
  return intent;
}

const audit = (tx: Tx, ctx: CaseCtx, eventType: DisputeCaseChange, caseId: string, details: Record<string, unknown>) =>
  recordAudit(tx, ctx, { tenantId: ctx.principal.tenantId, eventType: `disputes.${eventType}`, resource: 'dispute_case', resourceId: caseId, details });

// ─── Writes ─────────────────────────────────────────────────────────────────

/** Create a case, optionally about an intent (its amount and currency are the defaults). */
export async function createCase(ctx: CaseCtx, input: CaseCreateInput): Promise<DisputeCase> {
  const tenantId = ctx.principal.tenantId;
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    let amountCents = input.amountCents ?? null;
    let caseCurrency = input.currency?.toLowerCase() ?? null;
    let intentIdValue: string | null = null;
    if (input.intentId) {
      const intent = await intentOf(tx, tenantId, input.intentId);
      intentIdValue = intent.intentId;
      if (caseCurrency && caseCurrency !== intent.currency.toLowerCase()) {
        throw new DomainError('case_amount_invalid', `The intent is in ${intent.currency}, not ${caseCurrency}`, { field: ['currency'] });
      }
      if (amountCents !== null && amountCents > intent.amountCents) {
        throw new DomainError('case_amount_invalid', `The amount in dispute exceeds the intent’s amount (${intent.amountCents})`, { field: ['amountCents'], details: { intent_amount_cents: intent.amountCents } });
      }
      amountCents ??= intent.amountCents;
      caseCurrency = intent.currency.toLowerCase();
    }
    const created = await tx.disputeCase.create({
      data: {
        id: newId('dsc'),
        tenantId,
        title: input.title,
        reason: input.reason,
        status: 'open',
        priority: input.priority,
        intentId: intentIdValue,
        amountCents,
        currency: caseCurrency,
        createdBy: actorString(ctx.principal),
        createdAt: now,
        updatedAt: now,
      },
    });
    await audit(tx, ctx, 'case_created', created.id, { intent_id: intentIdValue, amount_cents: amountCents, currency: caseCurrency, priority: input.priority });
    return created;
  });
}

/**
 * Link an intent's open Harbor dispute to a case: to the given open case, or to a new one. Only a
 * disputed intent; one case per dispute (a second link is a 409).
 */
export async function linkDisputedIntent(ctx: CaseCtx, input: CaseLinkInput): Promise<DisputeCase> {
  const tenantId = ctx.principal.tenantId;
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    // The case first (404 for another tenant's), then the intent, locked against a concurrent resolution.
    const existing = input.caseId ? await lockCase(tx, tenantId, input.caseId) : null;
    const intent = await intentOf(tx, tenantId, input.intentId);
    await tx.$queryRaw`SELECT 1 FROM "HarborIntent" WHERE "id" = ${intent.id} FOR UPDATE`;
    const current = await tx.harborIntent.findUniqueOrThrow({ where: { id: intent.id } });
    if (current.state !== 'disputed') {
      throw new DomainError('dispute_not_open', `The intent has no open dispute (it is ${current.state})`, { details: { state: current.state } });
    }
    const taken = await tx.disputeCase.findFirst({ where: { tenantId, disputeIntentId: current.intentId }, select: { id: true } });
    if (taken) throw new DomainError('dispute_already_linked', 'This dispute is already linked to a case', { details: { case_id: taken.id } });
    const opened = await tx.ledgerEvent.findFirst({ where: { tenantId, intentId: current.intentId, type: 'dispute.opened' }, orderBy: { seq: 'desc' }, select: { seq: true } });
    const link = { disputeIntentId: current.intentId, disputeLedgerSeq: opened?.seq ?? null, linkedAt: now, updatedAt: now };
    let linked: DisputeCase;
    if (existing) {
      assertWritable(existing.status);
      if (existing.disputeIntentId) throw new DomainError('case_already_linked', 'The case is already linked to a Harbor dispute', { details: { intent_id: existing.disputeIntentId } });
      if (existing.intentId && existing.intentId !== current.intentId) {
        throw new DomainError('case_intent_mismatch', 'The case is about another intent', { field: ['intentId'], details: { case_intent_id: existing.intentId } });
      }
      linked = await tx.disputeCase.update({
        where: { id: existing.id },
        data: { ...link, intentId: current.intentId, amountCents: existing.amountCents ?? current.amountCents, currency: existing.currency ?? current.currency.toLowerCase() },
      });
    } else {
      linked = await tx.disputeCase.create({
        data: {
          id: newId('dsc'),
          tenantId,
          title: input.title ?? `Dispute on intent ${current.intentId}`,
          reason: input.reason ?? 'Linked from the open Harbor dispute',
          status: 'open',
          priority: input.priority ?? 'normal',
          intentId: current.intentId,
          amountCents: current.amountCents,
          currency: current.currency.toLowerCase(),
          createdBy: actorString(ctx.principal),
          createdAt: now,
          ...link,
        },
      });
      await audit(tx, ctx, 'case_created', linked.id, { intent_id: current.intentId, amount_cents: current.amountCents, currency: linked.currency, priority: linked.priority });
    }
    await audit(tx, ctx, 'case_linked', linked.id, { intent_id: current.intentId, dispute_ledger_seq: link.disputeLedgerSeq });
    return linked;
  });
}

/** Assign the case to a member of the tenant (anyone else: 422); the first assignment starts the review. */
export async function assignCase(ctx: CaseCtx, caseId: string, input: z.infer<typeof caseAssignInput>): Promise<DisputeCase> {
  const tenantId = ctx.principal.tenantId;
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    const row = await lockCase(tx, tenantId, caseId);
    const to = nextCaseStatus(row.status, 'assign');
    const member = await tx.membership.findUnique({ where: { userId_tenantId: { userId: input.assigneeId, tenantId } }, select: { id: true } });
    if (!member) throw new DomainError('assignee_not_member', 'The assignee is not a member of this tenant', { field: ['assigneeId'] });
    await tx.disputeCaseAssignment.create({
      data: { id: newId('dsa'), tenantId, caseId, assigneeId: input.assigneeId, previousAssigneeId: row.assigneeId, assignedByType: ctx.principal.kind, assignedBy: ctx.principal.subjectId, createdAt: now },
    });
    const updated = await tx.disputeCase.update({ where: { id: caseId }, data: { assigneeId: input.assigneeId, status: to, updatedAt: now } });
    await audit(tx, ctx, 'case_assigned', caseId, { assignee_id: input.assigneeId, previous_assignee_id: row.assigneeId, from: row.status, to });
    return updated;
  });
}

/** Append a note (author and time recorded; there is no edit or delete). */
export async function appendNote(ctx: CaseCtx, caseId: string, input: z.infer<typeof caseNoteInput>) {
  const tenantId = ctx.principal.tenantId;
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    const row = await lockCase(tx, tenantId, caseId);
    assertWritable(row.status);
    const note = await tx.disputeCaseNote.create({
      data: { id: newId('dsn'), tenantId, caseId, body: input.body, authorType: ctx.principal.kind, authorId: ctx.principal.subjectId, createdAt: now },
    });
    const updated = await tx.disputeCase.update({ where: { id: caseId }, data: { updatedAt: now } });
    await audit(tx, ctx, 'note_added', caseId, { note_id: note.id, length: input.body.length });
    return { case: updated, note };
  });
}

/** Attach an evidence reference, checked against what it names (the ledger event or submission must exist). */
export async function attachEvidence(ctx: CaseCtx, caseId: string, input: CaseEvidenceInput) {
  const tenantId = ctx.principal.tenantId;
  const now = ctx.runtime.clock.now();
  const kind = input.kind ?? inferKind(input)!;
  return ctx.runtime.db.$transaction(async (tx) => {
    const row = await lockCase(tx, tenantId, caseId);
    assertWritable(row.status);
    const base = { id: newId('dse'), tenantId, caseId, kind, description: input.description ?? null, addedByType: ctx.principal.kind, addedBy: ctx.principal.subjectId, createdAt: now };
    let data: Prisma.DisputeCaseEvidenceUncheckedCreateInput;
    if (kind === 'ledger_event') {
      const event = await tx.ledgerEvent.findUnique({ where: { tenantId_seq: { tenantId, seq: input.ledgerSeq! } }, select: { seq: true, hash: true, type: true, intentId: true } });
      if (!event) throw new DomainError('evidence_reference_not_found', `The ledger has no event ${input.ledgerSeq}`, { field: ['ledgerSeq'] });
      if (input.sha256 && input.sha256.toLowerCase() !== event.hash) {
        throw new DomainError('evidence_hash_mismatch', `Ledger event ${event.seq} has another hash`, { field: ['sha256'], details: { ledger_seq: event.seq } });
      }
      data = { ...base, ledgerSeq: event.seq, ledgerHash: event.hash, ledgerType: event.type, intentId: event.intentId, sha256: event.hash };
    } else if (kind === 'intent_evidence') {
      if (!row.intentId) throw new DomainError('evidence_reference_invalid', 'The case has no intent: intent evidence cannot be attached', { field: ['kind'] });
      const intent = await intentOf(tx, tenantId, row.intentId);
      const submission = await tx.intentEvidence.findFirst({
        where: { tenantId, intentRowId: intent.id, ...(input.evidenceId ? { id: input.evidenceId } : {}), ...(input.sha256 ? { payloadDigest: input.sha256.toLowerCase() } : {}) },
        orderBy: { createdAt: 'desc' },
        select: { id: true, payloadDigest: true },
      });
      if (!submission) throw new DomainError('evidence_reference_not_found', 'The case’s intent has no such evidence submission', { field: [input.evidenceId ? 'evidenceId' : 'sha256'] });
      data = { ...base, intentId: intent.intentId, intentEvidenceId: submission.id, sha256: submission.payloadDigest };
    } else {
      data = { ...base, uri: input.uri!, sha256: input.sha256!.toLowerCase(), mediaType: input.mediaType!.toLowerCase() };
    }
    const evidence = await tx.disputeCaseEvidence.create({ data });
    const updated = await tx.disputeCase.update({ where: { id: caseId }, data: { updatedAt: now } });
    await audit(tx, ctx, 'evidence_attached', caseId, { evidence_id: evidence.id, kind, ledger_seq: evidence.ledgerSeq, sha256: evidence.sha256, media_type: evidence.mediaType });
    return { case: updated, evidence };
  });
}

/** Payee and payer amounts of a resolution, checked against the amount in dispute. */
export function resolutionAmounts(outcome: Outcome, total: number | null, payee?: number, payer?: number): { payee: number | null; payer: number | null } {
  const refuse = (message: string) =>
    new DomainError('resolution_amounts_invalid', message, { details: { amount_cents: total, payee_amount_cents: payee ?? null, payer_amount_cents: payer ?? null } });
  if (total === null) {
    if (outcome === 'split') throw refuse('A split needs an amount in dispute: the case has none');
    if (payee !== undefined || payer !== undefined) throw refuse('The case has no amount in dispute: give no amounts');
    return { payee: null, payer: null };
  }
  if (outcome === 'split') {
    if (payee === undefined || payer === undefined) throw refuse('A split needs payee_amount_cents and payer_amount_cents');
    if (payee < 1 || payer < 1) throw refuse('A split gives each side a positive amount (use payee_wins or payer_wins otherwise)');
    if (payee + payer !== total) throw refuse(`payee_amount_cents + payer_amount_cents must equal the amount in dispute (${total})`);
    return { payee, payer };
  }
  const expected = outcome === 'payee_wins' ? { payee: total, payer: 0 } : { payee: 0, payer: total };
  if ((payee !== undefined && payee !== expected.payee) || (payer !== undefined && payer !== expected.payer)) {
    throw refuse(`${outcome} gives ${expected.payee} to the payee and ${expected.payer} to the payer`);
  }
  return expected;
}

/**
 * Resolve a case under review. A linked case resolves its Harbor dispute in the same transaction
 * (disputed → resolved, dispute.resolved ledger event, audit); a dispute already resolved elsewhere
 * is accepted only with the same outcome.
 */
export async function resolveCase(ctx: CaseCtx, caseId: string, input: CaseResolveInput): Promise<DisputeCase> {
  const tenantId = ctx.principal.tenantId;
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    const row = await lockCase(tx, tenantId, caseId);
    const to = nextCaseStatus(row.status, 'resolve');
    const amounts = resolutionAmounts(input.outcome, row.amountCents, input.payeeAmountCents, input.payerAmountCents);
    const harborOutcome = HARBOR_OUTCOME[input.outcome];
    let resolutionLedgerSeq: number | null = null;
    let intentState: string | null = null;
    if (row.disputeIntentId) {
      const intent = await intentOf(tx, tenantId, row.disputeIntentId);
      if (intent.state === 'resolved') {
        if (intent.disputeOutcome !== harborOutcome) {
          throw new DomainError('dispute_outcome_conflict', `The Harbor dispute was already resolved with ${intent.disputeOutcome}`, { details: { dispute_outcome: intent.disputeOutcome } });
        }
        intentState = intent.state;
      } else {
        const moved = await step(
          ctx,
          tx,
          intent,
          'dispute_resolve',
          {
            type: 'dispute.resolved',
            amountCents: intent.amountCents,
            payload: { outcome: harborOutcome, rationale: input.rationale, case_id: caseId, payee_amount_cents: amounts.payee, payer_amount_cents: amounts.payer },
          },
          { disputeOutcome: harborOutcome },
        );
        intentState = moved.state;
      }
      const event = await tx.ledgerEvent.findFirst({ where: { tenantId, intentId: intent.intentId, type: 'dispute.resolved' }, orderBy: { seq: 'desc' }, select: { seq: true } });
      resolutionLedgerSeq = event?.seq ?? null;
    }
    const updated = await tx.disputeCase.update({
      where: { id: caseId },
      data: {
        status: to,
        outcome: input.outcome,
        rationale: input.rationale,
        payeeAmountCents: amounts.payee,
        payerAmountCents: amounts.payer,
        resolutionLedgerSeq,
        closedBy: actorString(ctx.principal),
        closedAt: now,
        updatedAt: now,
      },
    });
    await audit(tx, ctx, 'case_resolved', caseId, {
      outcome: input.outcome,
      payee_amount_cents: amounts.payee,
      payer_amount_cents: amounts.payer,
      intent_id: row.disputeIntentId,
      intent_state: intentState,
      resolution_ledger_seq: resolutionLedgerSeq,
    });
    return updated;
  });
}

/** Withdraw an open case that is not linked to a Harbor dispute. */
export async function withdrawCase(ctx: CaseCtx, caseId: string, input: z.infer<typeof caseWithdrawInput>): Promise<DisputeCase> {
  const tenantId = ctx.principal.tenantId;
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    const row = await lockCase(tx, tenantId, caseId);
    const to = nextCaseStatus(row.status, 'withdraw');
    if (row.disputeIntentId) throw new DomainError('case_linked_to_dispute', 'A case linked to an open Harbor dispute is resolved, not withdrawn');
    const updated = await tx.disputeCase.update({ where: { id: caseId }, data: { status: to, rationale: input.reason, closedBy: actorString(ctx.principal), closedAt: now, updatedAt: now } });
    await audit(tx, ctx, 'case_withdrawn', caseId, { from: row.status, to });
    return updated;
  });
}
