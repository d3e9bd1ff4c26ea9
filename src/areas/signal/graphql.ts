import { z } from 'zod';
import { builder, type SchemaTypes } from '../../graphql/builder.ts';
import { policy, principalOf, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { inputFromZod } from '../../graphql/inputs.ts';
import type { RequestContext } from '../../context.ts';
import { HUMAN_ADMIN, PUBLIC, READER } from '../../kernel/policy.ts';
import * as bodies from './bodies.ts';
import { signalKeyList } from './keys.ts';
import { explanation, fairness, overview, portfolio, reputation, scoreModelVersions, shadowReadinessReport, signalAudit, signedPortfolio, trend } from './reputation.ts';
import { fraudMetrics, fraudSignals, recordReviewEvent, releaseGate, releaseGateInput, reviewEventInput, reviewQueue, reviewStatus, setReleaseGate, type SignalCtx } from './review.ts';
import { operatorDidOf, scoreVersionOf } from './versions.ts';

import './errors.ts';
import './limits.ts';
import './observer.ts';

export const AREA = 'signal' as const;

/**
 * Signal's GraphQL twins of the REST routes (docs/signal.md lists the pairs). Every type is built
 * from its body declaration in bodies.ts, so a field here is a key of the REST body.
 */

type Obj = Record<string, unknown>;
type FieldBuilder = PothosSchemaTypes.ObjectFieldBuilder<SchemaTypes, Obj>;

function bodyFields(t: FieldBuilder, body: bodies.Body) {
  return Object.fromEntries(
    Object.entries(body).map(([key, f]) => {
      const options = { description: f.description, nullable: f.nullable ?? false, resolve: (o: Obj) => (o[key] ?? null) as never };
      const ref =
        f.kind === 'String' ? t.string(options) :
        f.kind === 'Int' ? t.int(options) :
        f.kind === 'Float' ? t.float(options) :
        f.kind === 'Boolean' ? t.boolean(options) :
        f.kind === 'StringList' ? t.stringList(options) :
        t.field({ ...options, type: 'JSON' });
      return [bodies.fieldName(key), ref];
    }),
  );
}

const bodyType = (name: string, description: string, body: bodies.Body) =>
  builder.objectRef<Obj>(name).implement({ description, fields: (t) => bodyFields(t, body) });

/** A mutation payload: the body's fields (null when refused) and userErrors. */
const payloadType = (name: string, description: string, body: bodies.Body) =>
  builder.objectRef<Obj & { userErrors: UserErrorShape[] }>(name).implement({
    description,
    fields: (t) => ({
      ...bodyFields(t as unknown as FieldBuilder, Object.fromEntries(Object.entries(body).map(([k, f]) => [k, { ...f, nullable: true }]))),
      userErrors: userErrorsField(t),
    }),
  });

const ReceiptEnvelope = bodyType('SignalReceiptEnvelope', 'An operator’s latest signed reputation receipt.', bodies.RECEIPT_ENVELOPE);
const SignedArtifact = bodyType('SignalSignedArtifact', 'A signed Signal artifact (explanation or portfolio snapshot), verifiable offline with a published Signal key.', bodies.SIGNED_ARTIFACT);
const Overview = bodyType('SignalOverview', 'Portfolio rollups and current scores.', bodies.OVERVIEW);
const ReviewQueue = bodyType('SignalReviewQueue', 'The tenant’s fraud review queue.', bodies.REVIEW_QUEUE);
const Trend = bodyType('SignalTrend', 'An operator’s append-only score snapshots.', bodies.TREND);
const ReviewStatus = bodyType('SignalReviewStatus', 'An operator’s review case, fraud signals, assessment and release-gate decision.', bodies.REVIEW_STATUS);
const ScoreModelVersions = bodyType('SignalScoreModelVersions', 'The score versions an operator was scored with.', bodies.SCORE_MODEL_VERSIONS);
const FraudSignals = bodyType('SignalFraudSignals', 'Score-neutral fraud signals with per-operator release-gate decisions.', bodies.FRAUD_SIGNALS);
const FraudMetrics = bodyType('SignalFraudMetrics', 'Fraud monitoring and backtest metrics over a window.', bodies.FRAUD_METRICS);
const ReleaseGate = bodyType('SignalReleaseGate', 'The tenant’s release-gate mode and the reliability of its review metrics.', bodies.RELEASE_GATE);
const Fairness = bodyType('SignalFairness', 'Processing and fairness posture of the current assignment slice.', bodies.FAIRNESS);
const ShadowReadiness = bodyType('SignalShadowReadiness', 'Shadow version vs primary: evidence for operational review (not for sharing).', bodies.SHADOW_READINESS);
const PortfolioSummary = bodyType('SignalPortfolioSummary', 'Tenant-wide aggregates of the current receipts.', bodies.PORTFOLIO_SUMMARY);
const AuditPage = bodyType('SignalAuditPage', 'A page of Signal provenance events.', bodies.AUDIT_PAGE);
const KeyList = bodyType('SignalKeyList', 'Public keys Signal artifacts are signed with.', bodies.KEY_LIST);
const ReviewEventPayload = payloadType('SignalReviewEventPayload', 'The recorded review event (accepted is false when an appeal or replay was throttled).', bodies.REVIEW_EVENT);
const ReleaseGatePayload = payloadType('SignalReleaseGatePayload', 'The release gate after the change.', bodies.RELEASE_GATE);

const ReviewEventInput = inputFromZod('SignalReviewEventInput', reviewEventInput, 'A review workflow request or outcome.');
const ReleaseGateInput = inputFromZod('SignalReleaseGateInput', releaseGateInput, 'The release-gate mode to set.');

const signalCtx = (ctx: RequestContext): SignalCtx => ({ ...ctx, principal: principalOf(ctx) });
const artifact = (a: Obj | null) => (a ? { kind: a.kind, tenant_id: a.tenant_id, message_digest_hex: a.message_digest_hex, artifact: a } : null);

builder.queryFields((t) => {
  const did = () => t.arg.string({ required: true, description: 'The operator DID (a payee of the tenant’s intents).' });
  const version = () => t.arg.string({ required: false, description: 'Score version (default "1.0").' });
  /** A per-operator read: null (REST 404) when the tenant has nothing for that operator. */
  const perOperator = (type: ReturnType<typeof bodyType>, description: string, read: (ctx: SignalCtx, did: string, version: string) => Promise<Obj | null>) =>
    t.field({
      ...policy(READER),
      type,
      nullable: true,
      description,
      args: { operatorDid: did(), scoreVersion: version() },
      resolve: (_r, args, ctx) => read(signalCtx(ctx), operatorDidOf(args.operatorDid), scoreVersionOf(args.scoreVersion).version),
    });
  /** A tenant-wide read at a score version. */
  const tenantWide = (type: ReturnType<typeof bodyType>, description: string, read: (ctx: SignalCtx, version: string) => Promise<Obj>) =>
    t.field({ ...policy(READER), type, description, args: { scoreVersion: version() }, resolve: (_r, args, ctx) => read(signalCtx(ctx), scoreVersionOf(args.scoreVersion).version) });
  return {
    signalReputation: perOperator(ReceiptEnvelope, 'The operator’s latest signed reputation receipt (null when it has none).', reputation),
    signalOperatorExplanation: perOperator(SignedArtifact, 'Signed “why did the score move?” between the operator’s last two snapshots.', async (c, d, v) => artifact(await explanation(c, d, v))),
    signalOperatorReviewStatus: perOperator(ReviewStatus, 'The operator’s review case, fraud signals and gate decision (null for an operator the tenant never paid).', reviewStatus),
    signalOperatorScoreModelVersions: perOperator(ScoreModelVersions, 'Score versions the operator was scored with (null without snapshots).', (c, d) => scoreModelVersions(c, d)),
    signalOperatorTrend: t.field({
      ...policy(READER),
      type: Trend,
      nullable: true,
      description: 'The operator’s score snapshots, newest first (null without snapshots).',
      args: {
        operatorDid: did(),
        scoreVersion: version(),
        limit: t.arg.int({ required: false, description: 'Page size, 1–100 (default 20).' }),
        cursor: t.arg.string({ required: false, description: 'next_cursor of the previous page.' }),
      },
      validate: z.object({ limit: z.number().int().min(1).max(100).nullish(), cursor: z.string().regex(/^\d{1,10}$/, 'cursor is a next_cursor value').nullish() }).passthrough(),
      resolve: (_r, args, ctx) =>
        trend(signalCtx(ctx), operatorDidOf(args.operatorDid), scoreVersionOf(args.scoreVersion).version, { limit: args.limit ?? 20, cursor: args.cursor == null ? undefined : Number(args.cursor) }),
    }),
    signalOverview: tenantWide(Overview, 'Latest score per operator with review state and fraud level.', overview),
    signalFraudSignals: tenantWide(FraudSignals, 'Score-neutral fraud signals of flagged operators and their release-gate decisions.', fraudSignals),
    signalReleaseGate: tenantWide(ReleaseGate, 'The release-gate mode and the reliability of the review metrics.', releaseGate),
    signalPortfolioSummary: tenantWide(PortfolioSummary, 'Tenant-wide aggregates of the current receipts.', portfolio),
    signalPortfolioSignedExport: tenantWide(SignedArtifact, 'Signed portfolio snapshot: every current receipt digest bound to the ledger head.', async (c, v) => artifact(await signedPortfolio(c, v))!),
    signalReviewQueue: t.field({
      ...policy(READER),
      type: ReviewQueue,
      description: 'Review cases and flagged operators, most severe first.',
      args: {
        scoreVersion: version(),
        state: t.arg.string({ required: false, description: 'none, open, in_review, closed or all (default: open and in_review).' }),
        fraudSeverity: t.arg.string({ required: false, description: 'Only items at least this severe: elevated, high or critical.' }),
        limit: t.arg.int({ required: false, description: 'At most this many items (clamped to 1–500; default 100).' }),
      },
      resolve: (_r, args, ctx) =>
        reviewQueue(signalCtx(ctx), scoreVersionOf(args.scoreVersion).version, { state: args.state ?? undefined, fraud_severity: args.fraudSeverity ?? undefined, limit: args.limit == null ? undefined : String(args.limit) }),
    }),
    signalFraudMetrics: t.field({
      ...policy(READER),
      type: FraudMetrics,
      description: 'Fraud monitoring and backtest metrics, replayed from the ledger.',
      args: { scoreVersion: version(), window: t.arg.string({ required: false, description: '24h (default), 7d or 30d.' }) },
      resolve: async (_r, args, ctx) => ({ ...(await fraudMetrics(signalCtx(ctx), scoreVersionOf(args.scoreVersion).version, args.window ?? undefined)) }),
    }),
    signalFairness: t.field({ ...policy(READER), type: Fairness, description: 'Fairness posture of the primary score version.', resolve: (_r, _a, ctx) => fairness(signalCtx(ctx)) }),
    signalShadowReadiness: t.field({
      ...policy(HUMAN_ADMIN),
      type: ShadowReadiness,
      description: 'Shadow vs primary comparison for operational review (tenant admins; never exported).',
      resolve: (_r, _a, ctx) => shadowReadinessReport(signalCtx(ctx)),
    }),
    signalAudit: t.field({
      ...policy(READER),
      type: AuditPage,
      description: 'Signal provenance events of the tenant, newest first.',
      args: {
        operatorDid: t.arg.string({ required: false, description: 'Only events about this operator.' }),
        limit: t.arg.int({ required: false, description: 'Page size, 1–200 (default 50).' }),
        offset: t.arg.int({ required: false, description: 'Events to skip (default 0).' }),
      },
      validate: z.object({ limit: z.number().int().min(1).max(200).nullish(), offset: z.number().int().min(0).max(1_000_000).nullish() }).passthrough(),
      resolve: (_r, args, ctx) =>
        signalAudit(signalCtx(ctx), { operatorDid: args.operatorDid == null ? undefined : operatorDidOf(args.operatorDid), limit: args.limit ?? 50, offset: args.offset ?? 0 }),
    }),
    signalSigningKeys: t.field({ ...policy(PUBLIC), type: KeyList, description: 'Public keys that sign Signal receipts and artifacts (pin them when verifying).', resolve: (_r, _a, ctx) => signalKeyList(ctx.runtime.keys.signalSigning) }),
  };
});

builder.mutationFields((t) => ({
  signalReviewEventRecord: t.field({
    ...policy({ principals: ['user', 'api_key', 'harbor', 'agent'], scope: 'harbor:read', rateLimit: 'signal_review_event' }),
    type: ReviewEventPayload,
    description:
      'Record a review request or outcome for an operator. Outcomes need tenant_admin or the signal.review entitlement; requests need write access or signal.review. A throttled appeal or replay is recorded with accepted: false (REST: 429 with this body and Retry-After).',
    args: {
      operatorDid: t.arg.string({ required: true, description: 'The operator DID.' }),
      scoreVersion: t.arg.string({ required: false, description: 'Score version (default "1.0").' }),
      input: t.arg({ type: ReviewEventInput, required: true, description: 'The event.' }),
    },
    resolve: (_r, args, ctx) =>
      withUserErrors(async () => {
        const body = await recordReviewEvent(signalCtx(ctx), operatorDidOf(args.operatorDid), scoreVersionOf(args.scoreVersion).version, args.input);
        if (!body.accepted && body.next_eligible_at) {
          // Not final: the same Idempotency-Key must be able to succeed once the throttle allows it.
          ctx.http.markProvisional();
          ctx.http.setResponseHeader('Retry-After', String(Math.max(1, Math.ceil((Date.parse(body.next_eligible_at) - ctx.runtime.clock.now().getTime()) / 1000))));
        }
        return body;
      }),
  }),
  signalReleaseGateSet: t.field({
    ...policy({ ...HUMAN_ADMIN, rateLimit: 'signal_release_gate_mutation' }),
    type: ReleaseGatePayload,
    description: 'Set the release-gate mode (tenant admin). critical_hold is refused (release_gate_unreliable) until the review metrics are reliable.',
    args: { scoreVersion: t.arg.string({ required: false, description: 'Score version (default "1.0").' }), input: t.arg({ type: ReleaseGateInput, required: true, description: 'The mode.' }) },
    resolve: (_r, args, ctx) => withUserErrors(() => setReleaseGate(signalCtx(ctx), scoreVersionOf(args.scoreVersion).version, args.input)),
  }),
}));
