import type { SignalScoreSnapshot } from '../../generated/prisma/client.ts';
import { bucketHash } from '../../kernel/audit/redact.ts';
import { buildPortfolioPayload, portfolioSummary, receiptEnvelope, signPortfolio, type SignedReceipt } from './model/artifacts.ts';
import { assessFraud } from './model/fraud.ts';
import { fairnessReport, shadowReadiness, type OperatorCohortRow } from './model/cohorts.ts';
import { foldReviewCase } from './model/review.ts';
import { overviewResponse, scoreModelVersionsResponse, trendResponse, type SnapshotRecord } from './model/views.ts';
import { signalKey } from './keys.ts';
import { loadTenantViews, type SignalCtx } from './review.ts';
import { latestSnapshot, latestSnapshots, ledgerHead, reviewEvents } from './store.ts';
import { PRIMARY_SCORE_VERSION, SCORE_VERSIONS } from './versions.ts';

/**
 * Reads of the stored, signed scores. Receipts and explanations are served exactly as signed when
 * their snapshot was written; the portfolio artifact is signed per request over the current
 * receipts and the ledger head.
 */

const receiptOf = (s: SignalScoreSnapshot) => s.receipt as unknown as SignedReceipt;

/** A snapshot row in the model's record shape (views.ts). */
const record = (s: SignalScoreSnapshot): SnapshotRecord => ({
  tenant_id: s.tenantId,
  operator_did: s.operatorDid,
  score_version: s.scoreVersion,
  receipt_version: s.receiptVersion,
  ledger_watermark_seq: s.watermarkSeq,
  ledger_watermark_hash: s.watermarkHash,
  ledger_watermark_at: s.watermarkAt,
  score: s.score,
  alpha: s.alpha,
  beta: s.beta,
  n_eff: s.nEff,
  reason_codes: s.reasonCodes,
  confidence_band: s.confidenceBand,
  support_depth_band: s.supportDepthBand,
  metrics: s.metrics as unknown as SnapshotRecord['metrics'],
  receipt: receiptOf(s),
  receipt_message_digest_hex: s.receiptDigest,
  created_at: s.createdAt.toISOString(),
});

/** `GET /reputation/{did}`: the latest signed receipt, or null (404). */
export async function reputation(ctx: SignalCtx, operatorDid: string, scoreVersion: string) {
  const latest = await latestSnapshot(ctx.runtime.db, ctx.principal.tenantId, operatorDid, scoreVersion);
  return latest ? receiptEnvelope(receiptOf(latest), latest.createdAt.toISOString()) : null;
}

/** `GET …/explanation`: the signed explanation of the latest move, or null (404). */
export async function explanation(ctx: SignalCtx, operatorDid: string, scoreVersion: string) {
  const latest = await latestSnapshot(ctx.runtime.db, ctx.principal.tenantId, operatorDid, scoreVersion);
  return latest ? (latest.explanation as Record<string, unknown>) : null;
}

/** `GET …/trend`: snapshots newest first, paged by watermark seq; null when there are none. */
export async function trend(ctx: SignalCtx, operatorDid: string, scoreVersion: string, page: { limit: number; cursor?: number }) {
  const rows = await ctx.runtime.db.signalScoreSnapshot.findMany({
    where: { tenantId: ctx.principal.tenantId, operatorDid, scoreVersion, ...(page.cursor !== undefined ? { watermarkSeq: { lt: page.cursor } } : {}) },
    orderBy: { watermarkSeq: 'desc' },
    take: page.limit + 1,
  });
  if (!rows.length && page.cursor === undefined) return null;
  const items = rows.slice(0, page.limit);
  const nextCursor = rows.length > page.limit ? String(items[items.length - 1]!.watermarkSeq) : null;
  return trendResponse({ tenantId: ctx.principal.tenantId, operatorDid, scoreVersion, snapshots: items.map(record), nextCursor });
}

/** `GET …/score-model-versions`: one row per version the operator has snapshots under; null when none. */
export async function scoreModelVersions(ctx: SignalCtx, operatorDid: string) {
  const { db } = ctx.runtime;
  const tenantId = ctx.principal.tenantId;
  const counts = await db.signalScoreSnapshot.groupBy({ by: ['scoreVersion'], where: { tenantId, operatorDid }, _count: { _all: true } });
  if (!counts.length) return null;
  const versions = [];
  for (const [version, { params, status }] of SCORE_VERSIONS) {
    const latest = await latestSnapshot(db, tenantId, operatorDid, version);
    versions.push({ params, status, latest: latest ? record(latest) : null, snapshotCount: counts.find((c) => c.scoreVersion === version)?._count._all ?? 0 });
  }
  return scoreModelVersionsResponse({ tenantId, operatorDid, versions });
}

/** `GET /signal/v1/overview`: latest score per operator with its review state and fraud level. */
export async function overview(ctx: SignalCtx, scoreVersion: string) {
  const { db } = ctx.runtime;
  const tenantId = ctx.principal.tenantId;
  const latest = await latestSnapshots(db, tenantId, scoreVersion);
  const views = new Map((await loadTenantViews(ctx)).views.map((v) => [v.operatorDid, v]));
  const head = await ledgerHead(db, tenantId);
  return overviewResponse({
    tenantId,
    scoreVersion,
    checkpointSeq: head.seq,
    operators: latest.map((s) => {
      const view = views.get(s.operatorDid);
      return { latest: record(s), reviewState: view?.reviewCase.review_state ?? 'none', fraudAssessment: view?.assessment ?? assessFraud([]) };
    }),
  });
}

/** Current receipts with their live review state (receipts themselves carry none: they replay from the ledger alone). */
async function currentReceipts(ctx: SignalCtx, scoreVersion: string) {
  const { db } = ctx.runtime;
  const tenantId = ctx.principal.tenantId;
  const latest = await latestSnapshots(db, tenantId, scoreVersion);
  const reviews = await reviewEvents(db, tenantId);
  return latest.map((s) => ({ receipt: receiptOf(s), reviewState: foldReviewCase(s.operatorDid, reviews).review_state }));
}

/** `GET /signal/v1/portfolio/summary`. */
export async function portfolio(ctx: SignalCtx, scoreVersion: string) {
  const receipts = await currentReceipts(ctx, scoreVersion);
  const head = await ledgerHead(ctx.runtime.db, ctx.principal.tenantId);
  return portfolioSummary({
    tenantId: ctx.principal.tenantId,
    params: SCORE_VERSIONS.get(scoreVersion)!.params,
    checkpointSeq: head.seq,
    receipts: receipts.map((r) => ({ score: r.receipt.score, metrics: r.receipt.metrics, review_state: r.reviewState })),
  });
}

/** `GET /signal/v1/portfolio/signed-export`: current receipts bound to the ledger head, signed now. */
export async function signedPortfolio(ctx: SignalCtx, scoreVersion: string) {
  const { db } = ctx.runtime;
  const tenantId = ctx.principal.tenantId;
  // Receipts first, then the head: the head is never behind a receipt read before it.
  const receipts = (await latestSnapshots(db, tenantId, scoreVersion)).map(receiptOf);
  const checkpoint = await ledgerHead(db, tenantId);
  const key = signalKey(ctx.runtime.keys.signalSigning);
  return signPortfolio(buildPortfolioPayload({ tenantId, params: SCORE_VERSIONS.get(scoreVersion)!.params, checkpoint, receipts, keyId: key.keyId }), key);
}

/** `GET /signal/v1/fairness`: cohort posture of the primary version; no protected attributes exist to claim parity on. */
export async function fairness(ctx: SignalCtx) {
  const { db } = ctx.runtime;
  const tenantId = ctx.principal.tenantId;
  const nowMs = ctx.runtime.clock.now().getTime();
  const views = new Map((await loadTenantViews(ctx)).views.map((v) => [v.operatorDid, v]));
  const firstSeen = new Map(
    (await db.signalOperatorState.findMany({ where: { tenantId }, select: { operatorDid: true, scoreVersion: true, firstSeenAt: true } })).map((s) => [`${s.scoreVersion} ${s.operatorDid}`, s.firstSeenAt.getTime()]),
  );
  const held = new Set(
    (await db.$queryRaw<Array<{ operatorDid: string }>>`
      SELECT DISTINCT s."operatorDid" FROM "LedgerEvent" e JOIN "SignalIntent" s ON s."tenantId" = e."tenantId" AND s."intentId" = e."intentId"
      WHERE e."tenantId" = ${tenantId} AND e."type" = 'settlement.held'`).map((r) => r.operatorDid),
  );
  const intents = await db.$queryRaw<Array<{ operatorDid: string; settlementRail: string; currency: string; amountCents: number }>>`
    SELECT s."operatorDid", h."settlementRail", h."currency", h."amountCents" FROM "SignalIntent" s
    JOIN "HarborIntent" h ON h."tenantId" = s."tenantId" AND h."intentId" = s."intentId" WHERE s."tenantId" = ${tenantId}`;
  const byOperator = new Map<string, typeof intents>();
  for (const i of intents) byOperator.set(i.operatorDid, [...(byOperator.get(i.operatorDid) ?? []), i]);
  const rows: OperatorCohortRow[] = [];
  for (const [version] of SCORE_VERSIONS) {
    for (const s of await latestSnapshots(db, tenantId, version)) {
      const own = byOperator.get(s.operatorDid) ?? [];
      const labels = views.get(s.operatorDid)?.reviews.filter((r) => r.operatorDid === s.operatorDid && r.eventType === 'review_outcome_recorded' && r.accepted) ?? [];
      rows.push({
        operatorDid: s.operatorDid,
        firstSeenMs: firstSeen.get(`${version} ${s.operatorDid}`) ?? nowMs,
        rails: own.map((i) => i.settlementRail),
        currencies: own.map((i) => i.currency),
        amountsCents: own.map((i) => i.amountCents),
        score: s.score,
        flagged: (views.get(s.operatorDid)?.signals.length ?? 0) > 0,
        held: held.has(s.operatorDid),
        labeledCount: labels.filter((l) => l.reviewOutcome !== 'needs_more_evidence').length,
        falsePositiveCount: labels.filter((l) => l.reviewOutcome === 'false_positive').length,
        scoreVersion: version,
      });
    }
  }
  const shadow = [...SCORE_VERSIONS].filter(([, v]) => v.status === 'shadow').map(([k]) => k);
  return fairnessReport({ tenantId, primaryVersion: PRIMARY_SCORE_VERSION, shadowVersions: shadow, rows, nowMs });
}

/**
 * `GET /signal/v1/shadow-readiness` (tenant admin; never exported): the first shadow version
 * against the primary on the operators both scored. With no shadow version, not ready.
 */
export async function shadowReadinessReport(ctx: SignalCtx) {
  const { db } = ctx.runtime;
  const tenantId = ctx.principal.tenantId;
  const nowMs = ctx.runtime.clock.now().getTime();
  const shadowVersion = [...SCORE_VERSIONS].find(([, v]) => v.status === 'shadow')?.[0];
  const primary = await latestSnapshots(db, tenantId, PRIMARY_SCORE_VERSION);
  const shadow = shadowVersion ? await latestSnapshots(db, tenantId, shadowVersion) : [];
  const shadowScores = new Map(shadow.map((s) => [s.operatorDid, s.score]));
  const first = shadowVersion ? await db.signalScoreSnapshot.findFirst({ where: { tenantId, scoreVersion: shadowVersion }, orderBy: { createdAt: 'asc' } }) : null;
  const report = shadowReadiness({
    tenantId,
    primaryVersion: PRIMARY_SCORE_VERSION,
    shadowVersion: shadowVersion ?? 'none',
    primaryOperatorCount: primary.length,
    pairs: primary.filter((s) => shadowScores.has(s.operatorDid)).map((s) => ({ operatorDid: s.operatorDid, primaryScore: s.score, shadowScore: shadowScores.get(s.operatorDid)! })),
    shadowStartedMs: first?.createdAt.getTime() ?? nowMs,
    nowMs,
  });
  return shadowVersion ? report : { ...report, ready: false, reasons: ['no_shadow_version', ...report.reasons] };
}

/** `GET /audit`: Signal provenance events, newest first; DIDs are matched by their keyed hash (audit rows never hold them). */
export async function signalAudit(ctx: SignalCtx, query: { operatorDid?: string; limit: number; offset: number }) {
  const tenantId = ctx.principal.tenantId;
  const rows = await ctx.runtime.db.auditEvent.findMany({
    where: {
      tenantId,
      eventType: { startsWith: 'signal.' },
      ...(query.operatorDid ? { details: { path: ['operator_did'], equals: bucketHash(ctx.runtime.keys.hmacSecret, query.operatorDid) } } : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    skip: query.offset,
    take: query.limit + 1,
  });
  const items = rows.slice(0, query.limit).map((r) => ({
    event_id: r.id,
    event_type: r.eventType,
    occurred_at: r.createdAt.toISOString(),
    actor: { type: r.actorType, id: r.actorId },
    decision: r.decision,
    resource: r.resource,
    resource_id: r.resourceId,
    details: r.details,
  }));
  return { schema_version: 1, tenant_id: tenantId, items, limit: query.limit, offset: query.offset, next_offset: rows.length > query.limit ? query.offset + query.limit : null };
}
