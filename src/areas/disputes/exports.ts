import { Prisma } from '../../generated/prisma/client.ts';
import type { RecordsArtifactInput } from '../../evidence/index.ts';
import { registerExportArtifacts, snakeRow, type ExportScope } from '../compliance/artifacts.ts';

/*
 * The `disputes` category of compliance exports (src/areas/compliance/artifacts.ts): cases with
 * their notes, evidence references and assignments, read a page at a time in (createdAt, id)
 * order, cut off at the export's as_of, narrowed by the filter (case_id, intent_id, operator_did,
 * time window) and disclosed per the export's tier.
 */

const sql = Prisma.sql;
const PAGE = 1000;

interface Row {
  id: string;
  createdAt: Date;
  [key: string]: unknown;
}

/** The cases the filter selects, as a condition on the case table alias `c`. */
function caseScope(scope: ExportScope): Prisma.Sql {
  const { caseId, intentId, operatorDid } = scope.filter;
  const conditions: Prisma.Sql[] = [sql`c."tenantId" = ${scope.tenantId}`];
  if (caseId) conditions.push(sql`c."id" = ${caseId}`);
  if (intentId) conditions.push(sql`c."intentId" = ${intentId}`);
  if (operatorDid) {
    conditions.push(sql`c."intentId" IN (SELECT "intentId" FROM "HarborIntent" WHERE "tenantId" = ${scope.tenantId} AND ${operatorDid} IN ("principalDid", "payeeDid"))`);
  }
  return Prisma.join(conditions, ' AND ');
}

/** Created by the cut-off and inside the window, on a timestamptz column. */
function window(scope: ExportScope, column: Prisma.Sql): Prisma.Sql {
  const { timeStart, timeEnd } = scope.filter;
  return Prisma.join(
    [sql`${column} <= ${scope.asOf}`, ...(timeStart ? [sql`${column} >= ${new Date(timeStart)}`] : []), ...(timeEnd ? [sql`${column} < ${new Date(timeEnd)}`] : [])],
    ' AND ',
  );
}

async function* pages(scope: ExportScope, page: (after: Prisma.Sql) => Promise<Row[]>, alias: Prisma.Sql): AsyncGenerator<Record<string, unknown>> {
  let last: Row | undefined;
  for (;;) {
    const rows = await page(last ? sql`(${alias}"createdAt", ${alias}"id") > (${last.createdAt}, ${last.id})` : sql`TRUE`);
    for (const row of rows) yield scope.disclose(snakeRow(row));
    if (rows.length < PAGE) return;
    last = rows.at(-1);
  }
}

const child = (scope: ExportScope, table: 'DisputeCaseNote' | 'DisputeCaseEvidence' | 'DisputeCaseAssignment'): AsyncGenerator<Record<string, unknown>> =>
  pages(
    scope,
    (after) =>
      scope.db.$queryRaw<Row[]>`
        SELECT x.* FROM ${Prisma.raw(`"${table}"`)} x JOIN "DisputeCase" c ON c."id" = x."caseId"
        WHERE x."tenantId" = ${scope.tenantId} AND ${caseScope(scope)} AND ${window(scope, sql`x."createdAt"`)} AND ${after}
        ORDER BY x."createdAt", x."id" LIMIT ${PAGE}`,
    sql`x.`,
  );

registerExportArtifacts('disputes', (scope): RecordsArtifactInput[] => [
  {
    path: 'dispute_cases.jsonl',
    rows: pages(
      scope,
      (after) =>
        scope.db.$queryRaw<Row[]>`
          SELECT c.* FROM "DisputeCase" c
          WHERE ${caseScope(scope)} AND c."createdAt" <= ${scope.asOf}
            ${scope.filter.timeEnd ? sql`AND c."createdAt" < ${new Date(scope.filter.timeEnd)}` : sql``}
            ${scope.filter.timeStart ? sql`AND c."updatedAt" >= ${new Date(scope.filter.timeStart)}` : sql``}
            AND ${after}
          ORDER BY c."createdAt", c."id" LIMIT ${PAGE}`,
      sql`c.`,
    ),
  },
  { path: 'dispute_case_notes.jsonl', rows: child(scope, 'DisputeCaseNote') },
  { path: 'dispute_case_evidence.jsonl', rows: child(scope, 'DisputeCaseEvidence') },
  { path: 'dispute_case_assignments.jsonl', rows: child(scope, 'DisputeCaseAssignment') },
]);
