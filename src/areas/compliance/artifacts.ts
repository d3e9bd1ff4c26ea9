import { z } from 'zod';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { redact } from '../../kernel/audit/redact.ts';
import type { RecordsArtifactInput } from '../../evidence/index.ts';

/*
 * What an export contains: JSONL artifacts per category, each row read a page at a time from the
 * database (keyset pagination), filtered by the request and cut off at the moment the export was
 * requested (`as_of`), so a resumed job exports the same records. Other areas add their own
 * artifacts (settlement configurations, dispute cases, Signal provenance) to their category with
 * registerExportArtifacts().
 */

export const exportCategory = describedEnum('AuditExportCategory', 'A part of the tenant’s records an export can include.', {
  audit: 'Audit events, as recorded (already redacted): audit_events.jsonl.',
  ledger: 'Ledger events with inclusion proofs, the signed checkpoint, and older checkpoints with consistency proofs: ledger/.',
  harbor: 'Intents with their state history, their evidence, and managed policy versions: intents.jsonl, intent_evidence.jsonl, policy_versions.jsonl.',
  guardrails: 'Guardrail policy versions: guardrail_policy_versions.jsonl.',
  settlement: 'Settlement configuration versions, Stripe PaymentIntents linked to intents, and sandbox simulator events: settlement_config_versions.jsonl, stripe_payment_intents.jsonl, simulator_events.jsonl.',
  disputes: 'Dispute cases with their notes, evidence references and assignments: dispute_cases.jsonl, dispute_case_notes.jsonl, dispute_case_evidence.jsonl, dispute_case_assignments.jsonl.',
  signal: 'Signal provenance: every signed score receipt and explanation with its ledger watermark, and the operator review log: signal_score_snapshots.jsonl, signal_review_events.jsonl.',
});
export type ExportCategory = z.infer<typeof exportCategory>;

export const disclosureTier = describedEnum('DisclosureTier', 'How much personal data an export discloses.', {
  standard: 'Personal data (DIDs, keys, emails, addresses, free text that contains them) replaced by keyed hashes with the gateway’s one redaction function.',
  extended: 'Records as stored (audit events stay redacted as recorded). Tenant admins only.',
});
export type DisclosureTier = z.infer<typeof disclosureTier>;

const timestamp = z.iso.datetime({ offset: true });

export const exportFilter = z.object({
  timeStart: timestamp.optional().describe('Only records at or after this time (RFC 3339).'),
  timeEnd: timestamp.optional().describe('Only records before this time (RFC 3339).'),
  intentId: z.string().min(1).max(200).optional().describe('Only this intent’s records (its intent row, evidence, ledger events and audit events).'),
  caseId: z.string().min(1).max(200).optional().describe('Only this dispute case’s records (audit events about it and the dispute artifacts); add intent_id for the disputed intent’s records.'),
  operatorDid: z.string().min(1).max(512).optional().describe('Only records of intents this DID is principal or payee of.'),
  includes: z.array(exportCategory).min(1).max(7).optional().describe('Categories to include (default: all).'),
});
export type ExportFilter = z.infer<typeof exportFilter>;

const FILTER_FIELDS = [
  ['timeStart', 'time_start'],
  ['timeEnd', 'time_end'],
  ['intentId', 'intent_id'],
  ['caseId', 'case_id'],
  ['operatorDid', 'operator_did'],
  ['includes', 'includes'],
] as const;

/** The filter as stored on the job and signed into the manifest: snake_case, only the fields given. */
export function filterToJson(filter: ExportFilter): Prisma.InputJsonObject {
  return Object.fromEntries(FILTER_FIELDS.flatMap(([field, key]) => (filter[field] === undefined ? [] : [[key, filter[field]]])));
}

export function filterFromJson(stored: unknown): ExportFilter {
  const json = (stored ?? {}) as Record<string, unknown>;
  return Object.fromEntries(FILTER_FIELDS.flatMap(([field, key]) => (json[key] === undefined ? [] : [[field, json[key]]]))) as ExportFilter;
}

/** What one export reads: the tenant, the filter, the cut-off and the disclosure tier. */
export interface ExportScope {
  db: PrismaClient;
  tenantId: string;
  filter: ExportFilter;
  asOf: Date;
  tier: DisclosureTier;
  /** Applies the tier's redaction to a row. */
  disclose(row: Record<string, unknown>): Record<string, unknown>;
}

/**
 * A row as JSON would write it (times as RFC 3339 strings): the redaction function walks plain
 * values only, and would turn a Date into {}.
 */
function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

export const discloser = (tier: DisclosureTier, key: Uint8Array) => (row: Record<string, unknown>) =>
  tier === 'standard' ? (redact(plain(row), key) as Record<string, unknown>) : row;

export type ArtifactProvider = (scope: ExportScope) => RecordsArtifactInput[];
const providers: Array<{ category: ExportCategory; provider: ArtifactProvider }> = [];

/** Add artifacts to a category (an area registers at import; artifact paths must be unique). */
export function registerExportArtifacts(category: ExportCategory, provider: ArtifactProvider): void {
  providers.push({ category, provider });
}

export const includedCategories = (filter: ExportFilter): Set<ExportCategory> => new Set(filter.includes ?? exportCategory.options);

/** The records artifacts of an export (the ledger is added by the job, with its proofs). */
export function exportArtifacts(scope: ExportScope): RecordsArtifactInput[] {
  const included = includedCategories(scope.filter);
  return providers.filter((p) => included.has(p.category)).flatMap((p) => p.provider(scope));
}

// ─── Filters as SQL ─────────────────────────────────────────────────────────

const sql = Prisma.sql;

/** The intents the filter narrows to, as a condition on an intent-id column (TRUE when not narrowed). */
function intentScope(scope: ExportScope, column: Prisma.Sql): Prisma.Sql {
  const { intentId, operatorDid, caseId } = scope.filter;
  const conditions: Prisma.Sql[] = [];
  if (intentId) conditions.push(sql`${column} = ${intentId}`);
  if (operatorDid) {
    conditions.push(sql`${column} IN (SELECT "intentId" FROM "HarborIntent" WHERE "tenantId" = ${scope.tenantId} AND ${operatorDid} IN ("principalDid", "payeeDid"))`);
  }
  // A case alone names no intent here: the disputes area exports the case's own records.
  if (caseId && !intentId && !operatorDid) conditions.push(sql`FALSE`);
  return conditions.length ? Prisma.join(conditions, ' AND ') : sql`TRUE`;
}

/** The time window on a timestamptz column, cut off at as_of. */
function window(scope: ExportScope, column: Prisma.Sql): Prisma.Sql {
  const { timeStart, timeEnd } = scope.filter;
  return Prisma.join(
    [sql`${column} <= ${scope.asOf}`, ...(timeStart ? [sql`${column} >= ${new Date(timeStart)}`] : []), ...(timeEnd ? [sql`${column} < ${new Date(timeEnd)}`] : [])],
    ' AND ',
  );
}

/** Ledger events the filter selects (their occurred_at is an RFC 3339 string with milliseconds, ordered like the time). */
export function ledgerCondition(scope: ExportScope): Prisma.Sql {
  const { timeStart, timeEnd } = scope.filter;
  const iso = (t: string | Date) => new Date(t).toISOString();
  return Prisma.join(
    [
      sql`"occurredAt" <= ${iso(scope.asOf)}`,
      ...(timeStart ? [sql`"occurredAt" >= ${iso(timeStart)}`] : []),
      ...(timeEnd ? [sql`"occurredAt" < ${iso(timeEnd)}`] : []),
      intentScope(scope, sql`"intentId"`),
    ],
    ' AND ',
  );
}

// ─── Paging ─────────────────────────────────────────────────────────────────

const PAGE = 1000;

/** Rows in (createdAt, id) order, a page at a time: `page(after)` returns the rows after that key. */
async function* keyset<T extends { id: string; createdAt: Date }>(page: (after: { createdAt: Date; id: string } | null) => Promise<T[]>): AsyncGenerator<T> {
  let after: T | null = null;
  for (;;) {
    const rows = await page(after);
    if (!rows.length) return;
    yield* rows;
    after = rows.at(-1)!;
  }
}

/** After a (createdAt, id) key (the (tenantId, createdAt) indexes serve it as a range). */
const after = (key: { createdAt: Date; id: string } | null, table = sql``) =>
  key ? sql`(${table}"createdAt", ${table}"id") > (${key.createdAt}, ${key.id})` : sql`TRUE`;

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** A row with snake_case keys (the JSONL convention of every artifact), without the tenant column. */
export function snakeRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) if (key !== 'tenantId') out[snake(key)] = value;
  return out;
}

async function* map<T, U>(rows: AsyncIterable<T>, f: (row: T) => U): AsyncGenerator<U> {
  for await (const row of rows) yield f(row);
}

// ─── The gateway's own artifacts ────────────────────────────────────────────

/** A row as the database returns it (keyset pagination needs id and createdAt). */
interface Row {
  id: string;
  createdAt: Date;
  [key: string]: unknown;
}

registerExportArtifacts('audit', (scope) => {
  const { caseId, intentId, operatorDid } = scope.filter;
  const narrowed = intentId || operatorDid || caseId;
  const about = narrowed ? sql`(${intentScope(scope, sql`"resourceId"`)}${caseId ? sql` OR "resourceId" = ${caseId}` : sql``})` : sql`TRUE`;
  const rows = keyset((key) =>
    scope.db.$queryRaw<Row[]>`
      SELECT "id", "createdAt", "eventType", "resource", "resourceId", "decision", "actorType", "actorId", "requestId", "idempotencyKeySha256", "details"
      FROM "AuditEvent" WHERE "tenantId" = ${scope.tenantId} AND ${window(scope, sql`"createdAt"`)} AND ${about} AND ${after(key)}
      ORDER BY "createdAt", "id" LIMIT ${PAGE}`,
  );
  // Audit rows were redacted when recorded, by the same function: both tiers export them as stored.
  return [{ path: 'audit_events.jsonl', rows: map(rows, snakeRow) }];
});

/** Intents active in the window (created before its end, changed after its start), with their ledger steps. */
async function* intents(scope: ExportScope): AsyncGenerator<Record<string, unknown>> {
  const { timeStart, timeEnd } = scope.filter;
  const active = Prisma.join(
    [sql`"createdAt" <= ${scope.asOf}`, ...(timeEnd ? [sql`"createdAt" < ${new Date(timeEnd)}`] : []), ...(timeStart ? [sql`"updatedAt" >= ${new Date(timeStart)}`] : [])],
    ' AND ',
  );
  const pages = keyset((key) =>
    scope.db.$queryRaw<Row[]>`
      SELECT * FROM "HarborIntent" WHERE "tenantId" = ${scope.tenantId} AND ${active} AND ${intentScope(scope, sql`"intentId"`)} AND ${after(key)}
      ORDER BY "createdAt", "id" LIMIT ${PAGE}`,
  );
  let batch: Row[] = [];
  const flush = async function* () {
    const ids = batch.map((i) => i.intentId as string);
    const steps = await scope.db.$queryRaw<Array<{ intentId: string; seq: number; type: string; occurredAt: string }>>`
      SELECT "intentId", "seq", "type", "occurredAt" FROM "LedgerEvent"
      WHERE "tenantId" = ${scope.tenantId} AND "intentId" = ANY(${ids}) AND "occurredAt" <= ${scope.asOf.toISOString()} ORDER BY "seq"`;
    const history = new Map<string, typeof steps>();
    for (const s of steps) history.set(s.intentId, [...(history.get(s.intentId) ?? []), s]);
    for (const intent of batch) {
      const stateHistory = (history.get(intent.intentId as string) ?? []).map((s) => ({ seq: s.seq, type: s.type, occurred_at: s.occurredAt }));
      // Ledger steps hold no personal data, and redaction would cut a long history at 100 steps.
      yield { ...scope.disclose(snakeRow(intent)), state_history: stateHistory };
    }
    batch = [];
  };
  for await (const intent of pages) {
    batch.push(intent);
    if (batch.length === PAGE) yield* flush();
  }
  if (batch.length) yield* flush();
}

/** Policy versions are the rules in force: their whole history up to the cut-off, whatever the window. */
function versionHistory(scope: ExportScope, path: string, table: 'PolicyVersion' | 'GuardrailPolicyVersion' | 'SettlementConfigVersion'): RecordsArtifactInput {
  const rows = keyset((key) =>
    scope.db.$queryRaw<Row[]>`
      SELECT * FROM ${Prisma.raw(`"${table}"`)} WHERE "tenantId" = ${scope.tenantId} AND "createdAt" <= ${scope.asOf} AND ${after(key)} ORDER BY "createdAt", "id" LIMIT ${PAGE}`,
  );
  return { path, rows: map(rows, (row) => scope.disclose(snakeRow(row))) };
}

registerExportArtifacts('harbor', (scope) => [
  { path: 'intents.jsonl', rows: intents(scope) },
  {
    path: 'intent_evidence.jsonl',
    rows: map(
      keyset((key) =>
        scope.db.$queryRaw<Row[]>`
          SELECT e."id", e."createdAt", i."intentId", e."payload", e."payloadDigest", e."artifacts", e."artifactsDigest", e."payeeDid", e."submittedAt", e."predicatePassed", e."schemaValid"
          FROM "IntentEvidence" e JOIN "HarborIntent" i ON i."id" = e."intentRowId"
          WHERE e."tenantId" = ${scope.tenantId} AND ${window(scope, sql`e."createdAt"`)} AND ${intentScope(scope, sql`i."intentId"`)}
            AND ${after(key, sql`e.`)}
          ORDER BY e."createdAt", e."id" LIMIT ${PAGE}`,
      ),
      (row) => scope.disclose(snakeRow(row)),
    ),
  },
  versionHistory(scope, 'policy_versions.jsonl', 'PolicyVersion'),
]);

registerExportArtifacts('guardrails', (scope) => [versionHistory(scope, 'guardrail_policy_versions.jsonl', 'GuardrailPolicyVersion')]);

// ─── Settlement records ─────────────────────────────────────────────────────

registerExportArtifacts('settlement', (scope) => [
  // The configuration in force at the start of a window was saved before it: the whole history.
  versionHistory(scope, 'settlement_config_versions.jsonl', 'SettlementConfigVersion'),
  {
    path: 'stripe_payment_intents.jsonl',
    rows: map(
      keyset((key) =>
        scope.db.$queryRaw<Row[]>`
          SELECT "paymentIntentId" AS "id", "createdAt", "intentId", "livemode", "lastStatus", "checkedAt"
          FROM "StripePaymentIntentLink"
          WHERE "tenantId" = ${scope.tenantId} AND ${window(scope, sql`"createdAt"`)} AND ${intentScope(scope, sql`"intentId"`)}
            AND ${key ? sql`("createdAt", "paymentIntentId") > (${key.createdAt}, ${key.id})` : sql`TRUE`}
          ORDER BY "createdAt", "paymentIntentId" LIMIT ${PAGE}`,
      ),
      ({ id, ...row }) => scope.disclose(snakeRow({ paymentIntentId: id, ...row })),
    ),
  },
  {
    path: 'simulator_events.jsonl',
    rows: map(
      keyset((key) =>
        scope.db.$queryRaw<Row[]>`
          SELECT * FROM "SimulatorEvent"
          WHERE "tenantId" = ${scope.tenantId} AND ${window(scope, sql`"createdAt"`)} AND ${intentScope(scope, sql`"intentId"`)} AND ${after(key)}
          ORDER BY "createdAt", "id" LIMIT ${PAGE}`,
      ),
      (row) => scope.disclose(snakeRow(row)),
    ),
  },
]);

// ─── Signal provenance ──────────────────────────────────────────────────────

/**
 * The operators the filter narrows to, as a condition on an operator-DID column: the operator
 * asked for, and the operators Signal scored on the intent asked for (TRUE when not narrowed).
 */
function operatorScope(scope: ExportScope, column: Prisma.Sql): Prisma.Sql {
  const { intentId, operatorDid, caseId } = scope.filter;
  const conditions: Prisma.Sql[] = [];
  if (operatorDid) conditions.push(sql`${column} = ${operatorDid}`);
  if (intentId) conditions.push(sql`${column} IN (SELECT "operatorDid" FROM "SignalIntent" WHERE "tenantId" = ${scope.tenantId} AND "intentId" = ${intentId})`);
  if (caseId && !intentId && !operatorDid) conditions.push(sql`FALSE`);
  return conditions.length ? Prisma.join(conditions, ' AND ') : sql`TRUE`;
}

/** Review events in insertion order (seq), a page at a time. */
async function* reviewEvents(scope: ExportScope): AsyncGenerator<Record<string, unknown>> {
  const { intentId, operatorDid, caseId } = scope.filter;
  const narrowed = Prisma.join(
    [
      operatorDid ? sql`"operatorDid" = ${operatorDid}` : sql`TRUE`,
      intentId ? sql`"intentId" = ${intentId}` : sql`TRUE`,
      caseId && !intentId && !operatorDid ? sql`FALSE` : sql`TRUE`,
    ],
    ' AND ',
  );
  let last = 0;
  for (;;) {
    const rows = await scope.db.$queryRaw<Array<{ seq: number } & Record<string, unknown>>>`
      SELECT * FROM "SignalReviewEvent"
      WHERE "tenantId" = ${scope.tenantId} AND ${window(scope, sql`"recordedAt"`)} AND ${narrowed} AND "seq" > ${last}
      ORDER BY "seq" LIMIT ${PAGE}`;
    if (!rows.length) return;
    for (const row of rows) yield scope.disclose(snakeRow(row));
    last = rows.at(-1)!.seq;
  }
}

registerExportArtifacts('signal', (scope) => [
  {
    // Each score's signed receipt and explanation as served, with the ledger watermark it was computed at.
    path: 'signal_score_snapshots.jsonl',
    rows: map(
      keyset((key) =>
        scope.db.$queryRaw<Row[]>`
          SELECT * FROM "SignalScoreSnapshot"
          WHERE "tenantId" = ${scope.tenantId} AND ${window(scope, sql`"createdAt"`)} AND ${operatorScope(scope, sql`"operatorDid"`)} AND ${after(key)}
          ORDER BY "createdAt", "id" LIMIT ${PAGE}`,
      ),
      (row) => scope.disclose(snakeRow(row)),
    ),
  },
  { path: 'signal_review_events.jsonl', rows: reviewEvents(scope) },
]);
