import { z } from 'zod';
import { builder } from '../../graphql/builder.ts';
import { authed, connectionArgs, EnvironmentEnum, policy, principalOf, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { enumFromZod, inputFromZod } from '../../graphql/inputs.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { HUMAN_ADMIN, READER } from '../../kernel/policy.ts';
import { settlementRail } from '../harbor/rails.ts';
import type { Readiness } from './config-rules.ts';
import { activeConfig, configHistory, settlementConfigInput, updateConfig, type RailReadiness, type SettlementConfigView } from './config.ts';
import { destinationLinkInput, linkDestination, unlinkDestination, type DestinationState } from './destinations.ts';
import { reconcile, type ReconcileResult } from './reconcile.ts';
import { webhookHealth, type HealthWindow, type WebhookHealth } from './webhooks.ts';

import './limits.ts';

export const AREA = 'settlement' as const;

const SettlementRailEnum = enumFromZod(settlementRail);
type Rail = z.infer<typeof settlementRail>;

const ADMIN_WRITE = { ...HUMAN_ADMIN, rateLimit: 'settlement_config_mutation' } as const;

const ReadinessType = builder.objectRef<Readiness>('StripeRailReadiness').implement({
  description: 'Whether a Stripe rail can settle to a destination, and what it still needs.',
  fields: (t) => ({
    ready: t.exposeBoolean('ready', { description: 'True when nothing is missing.' }),
    unmet: t.exposeStringList('unmet', { description: 'What is missing, e.g. charges_disabled, ach_debit_capability_pending.' }),
  }),
});

const StripeDestinationType = builder.objectRef<DestinationState>('StripeDestination').implement({
  description: 'The Stripe Connect account a tenant settles to (sandbox tenants: the Paybond simulator).',
  fields: (t) => ({
    accountId: t.exposeString('account_id', { description: 'Connect account id (acct_…), or paybond_sandbox_simulator.' }),
    status: t.exposeString('status', { description: 'active, disabled (Stripe disabled the account) or unlinked.' }),
    simulated: t.exposeBoolean('simulated', { description: 'True for the sandbox simulator (no Stripe account, no money).' }),
    serverOwned: t.exposeBoolean('server_owned', { description: 'Read from Stripe by the gateway with its own key (never a client-asserted state).' }),
    livemode: t.exposeBoolean('livemode', { description: 'Whether the account was read in Stripe live mode.' }),
    chargesEnabled: t.exposeBoolean('charges_enabled', { description: 'Stripe lets the account take charges.' }),
    payoutsEnabled: t.exposeBoolean('payouts_enabled', { description: 'Stripe lets the account pay out.' }),
    detailsSubmitted: t.exposeBoolean('details_submitted', { description: 'The account holder finished onboarding.' }),
    achDebitCapability: t.exposeString('ach_debit_capability', { description: 'us_bank_account_ach_payments: active, inactive, pending or not_requested.' }),
    transfersCapability: t.exposeString('transfers_capability', { description: 'transfers capability status.' }),
    cardPaymentsCapability: t.exposeString('card_payments_capability', { description: 'card_payments capability status.' }),
    disabledReason: t.exposeString('disabled_reason', { nullable: true, description: 'Why Stripe disabled the account, if it did.' }),
    country: t.exposeString('country', { nullable: true, description: 'Account country.' }),
    defaultCurrency: t.exposeString('default_currency', { nullable: true, description: 'Account default currency.' }),
    linkedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was linked.', resolve: (d) => d.linked_at }),
    refreshedAt: t.field({ type: 'DateTime', nullable: true, description: 'When its state was last read from Stripe.', resolve: (d) => d.refreshed_at }),
    unlinkedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was unlinked.', resolve: (d) => d.unlinked_at }),
    stripeConnect: t.field({ type: ReadinessType, description: 'Readiness for stripe_connect.', resolve: (d) => d.readiness.stripe_connect }),
    stripeAchDebit: t.field({ type: ReadinessType, description: 'Readiness for stripe_ach_debit (also needs ACH debit active).', resolve: (d) => d.readiness.stripe_ach_debit }),
  }),
});

const RailReadinessType = builder.objectRef<RailReadiness>('SettlementRailReadiness').implement({
  description: 'One configurable rail: allowed now, and whether a configuration allowing it would be accepted.',
  fields: (t) => ({
    rail: t.field({ type: SettlementRailEnum, description: 'The rail.', resolve: (r) => r.rail }),
    allowed: t.exposeBoolean('allowed', { description: 'The active configuration (or default envelope) allows it.' }),
    ready: t.exposeBoolean('ready', { description: 'Every requirement of the rail is met.' }),
    unmet: t.exposeStringList('unmet', { description: 'Codes of the unmet requirements (what a save would be refused with).' }),
  }),
});

const SettlementConfigType = builder.objectRef<SettlementConfigView>('SettlementConfig').implement({
  description: 'A settlement configuration version, or the default envelope of an unconfigured tenant (version 0).',
  fields: (t) => ({
    configured: t.exposeBoolean('configured', { description: 'False until the tenant saves a configuration.' }),
    version: t.exposeInt('version', { description: 'Version number (0 = default envelope).' }),
    environment: t.field({ type: EnvironmentEnum, description: 'The tenant environment (from the credential).', resolve: (c) => c.environment }),
    settlementMode: t.exposeString('settlementMode', { description: 'simulated (sandbox) or live.' }),
    allowedRails: t.field({ type: [SettlementRailEnum], description: 'Rails Harbor may use. Unconfigured: every rail in sandbox, none live.', resolve: (c) => c.allowedRails as Rail[] }),
    defaultRail: t.field({ type: SettlementRailEnum, nullable: true, description: 'Rail used when a caller names none.', resolve: (c) => c.defaultRail as Rail | null }),
    x402UsdcBaseAddress: t.exposeString('x402UsdcBaseAddress', { nullable: true, description: 'EIP-55 Base address receiving x402 USDC.' }),
    digestHex: t.exposeString('digestHex', { nullable: true, description: 'SHA-256 of the canonical (JCS) rails, default and address.' }),
    destinationSnapshot: t.field({ type: 'JSON', nullable: true, description: 'The linked destination and its readiness when this version was saved.', resolve: (c) => c.destinationSnapshot }),
    stripeConfigured: t.exposeBoolean('stripeConfigured', { description: 'Whether the gateway has a Stripe key (live Stripe rails need one).' }),
    stripeDestination: t.field({ type: StripeDestinationType, nullable: true, description: 'The linked Stripe destination now (sandbox: the simulator).', resolve: (c) => c.stripeDestination }),
    railReadiness: t.field({ type: [RailReadinessType], description: 'Each configurable rail: allowed and ready.', resolve: (c) => c.railReadiness }),
    createdAt: t.field({ type: 'DateTime', nullable: true, description: 'When this version was saved.', resolve: (c) => c.createdAt }),
    createdBy: t.exposeString('createdBy', { nullable: true, description: 'Who saved it.' }),
  }),
});

const ConfigPayload = builder.objectRef<{ config?: SettlementConfigView; userErrors: UserErrorShape[] }>('SettlementConfigUpdatePayload').implement({
  description: 'The saved settlement configuration version.',
  fields: (t) => ({
    config: t.field({ type: SettlementConfigType, nullable: true, description: 'The new version.', resolve: (p) => p.config ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const DestinationPayload = builder.objectRef<{ destination?: DestinationState; userErrors: UserErrorShape[] }>('StripeDestinationPayload').implement({
  description: 'The Stripe destination after a link or unlink.',
  fields: (t) => ({
    destination: t.field({ type: StripeDestinationType, nullable: true, description: 'The destination.', resolve: (p) => p.destination ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const webhookStatus = describedEnum('StripeWebhookStatus', 'What became of a verified Stripe event.', {
  processed: 'Applied (or nothing to change).',
  ignored: 'Not about a Paybond payment or account, or older than what is known.',
  failed: 'Could not be applied; kept for triage and reconcile.',
});
const WebhookStatusEnum = enumFromZod(webhookStatus);

builder.prismaNode('StripeWebhookEvent', {
  description: 'A verified inbound Stripe event, stored once by its id.',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    eventId: t.exposeString('id', { description: 'Stripe event id (evt_…).' }),
    type: t.exposeString('type', { description: 'Stripe event type, e.g. payment_intent.succeeded.' }),
    status: t.field({ type: WebhookStatusEnum, description: 'processed, ignored or failed.', resolve: (e) => e.status as z.infer<typeof webhookStatus> }),
    errorCode: t.exposeString('errorCode', { nullable: true, description: 'Why it failed, e.g. amount_mismatch, invalid_state_transition.' }),
    errorMessage: t.exposeString('errorMessage', { nullable: true, description: 'What went wrong, for people.' }),
    intentId: t.exposeString('intentId', { nullable: true, description: 'The intent it concerns, when known.' }),
    account: t.exposeString('account', { nullable: true, description: 'The Connect account it is about, if any.' }),
    livemode: t.exposeBoolean('livemode', { description: 'Stripe live mode.' }),
    replayCount: t.exposeInt('replayCount', { description: 'Later deliveries of the same id (counted, never applied again).' }),
    stripeCreatedAt: t.expose('stripeCreated', { type: 'DateTime', description: 'When Stripe created the event.' }),
    receivedAt: t.expose('receivedAt', { type: 'DateTime', description: 'First delivery.' }),
    lastReceivedAt: t.expose('lastReceivedAt', { type: 'DateTime', description: 'Latest delivery.' }),
  }),
});

const HealthWindowType = builder.objectRef<HealthWindow>('StripeWebhookHealthWindow').implement({
  description: 'Stripe event counts over one recent window.',
  fields: (t) => ({
    window: t.exposeString('window', { description: '1h, 24h or 7d.' }),
    since: t.expose('since', { type: 'DateTime', description: 'Start of the window.' }),
    received: t.exposeInt('received', { description: 'Events first received in the window.' }),
    processed: t.exposeInt('processed', { description: 'Of those, applied.' }),
    ignored: t.exposeInt('ignored', { description: 'Of those, ignored.' }),
    failed: t.exposeInt('failed', { description: 'Of those, failed.' }),
    replayed: t.exposeInt('replayed', { description: 'Repeated deliveries of events last delivered in the window.' }),
  }),
});

const HealthType = builder.objectRef<WebhookHealth>('StripeWebhookHealth').implement({
  description: 'Delivery and replay health of the tenant’s inbound Stripe events.',
  fields: (t) => ({
    configured: t.exposeBoolean('configured', { description: 'Whether the gateway has STRIPE_WEBHOOK_SECRET (deliveries are refused without it).' }),
    lastEventAt: t.field({ type: 'DateTime', nullable: true, description: 'Latest delivery of any event.', resolve: (h) => h.lastEventAt }),
    lastFailureAt: t.field({ type: 'DateTime', nullable: true, description: 'Latest event that failed.', resolve: (h) => h.lastFailureAt }),
    windows: t.field({ type: [HealthWindowType], description: 'Counts over the last hour, day and week.', resolve: (h) => h.windows }),
  }),
});

type Change = ReconcileResult['changed'][number];
type Mismatch = ReconcileResult['mismatches'][number];
type ReconcileError = ReconcileResult['errors'][number];

const ChangeType = builder.objectRef<Change>('StripeReconcileChange').implement({
  description: 'An intent Stripe moved.',
  fields: (t) => ({
    intentId: t.exposeString('intentId', { description: 'The intent.' }),
    paymentIntentId: t.exposeString('paymentIntentId', { description: 'Its PaymentIntent.' }),
    from: t.exposeString('from', { description: 'State before.' }),
    to: t.exposeString('to', { description: 'State after.' }),
    actions: t.exposeStringList('actions', { description: 'State-machine steps applied.' }),
    outcome: t.exposeString('outcome', { description: 'What Stripe reported (succeeded, authorized, failed, refunded…).' }),
  }),
});

const MismatchType = builder.objectRef<Mismatch>('StripeReconcileMismatch').implement({
  description: 'An intent Stripe contradicts: never applied, to be looked at.',
  fields: (t) => ({
    intentId: t.exposeString('intentId', { description: 'The intent.' }),
    paymentIntentId: t.exposeString('paymentIntentId', { description: 'Its PaymentIntent.' }),
    state: t.exposeString('state', { description: 'The intent’s state.' }),
    reason: t.exposeString('reason', { description: 'amount_mismatch, funds_no_longer_held, destination_mismatch…' }),
    outcome: t.exposeString('outcome', { description: 'What Stripe reported.' }),
  }),
});

const ReconcileErrorType = builder.objectRef<ReconcileError>('StripeReconcileError').implement({
  description: 'An intent that could not be checked this run.',
  fields: (t) => ({
    intentId: t.exposeString('intentId', { description: 'The intent.' }),
    paymentIntentId: t.exposeString('paymentIntentId', { description: 'Its PaymentIntent.' }),
    code: t.exposeString('code', { description: 'Why, e.g. stripe_unavailable, stripe_payment_intent_not_found.' }),
  }),
});

const ReconcilePayload = builder.objectRef<Partial<ReconcileResult> & { userErrors: UserErrorShape[] }>('StripeReconcilePayload').implement({
  description: 'What a reconcile run checked and changed.',
  fields: (t) => ({
    checked: t.int({ description: 'PaymentIntents read from Stripe.', resolve: (r) => r.checked ?? 0 }),
    changed: t.field({ type: [ChangeType], description: 'Intents that moved.', resolve: (r) => r.changed ?? [] }),
    unchanged: t.int({ description: 'Intents Stripe agrees with (or has not decided yet).', resolve: (r) => r.unchanged ?? 0 }),
    mismatches: t.field({ type: [MismatchType], description: 'Contradictions, not applied.', resolve: (r) => r.mismatches ?? [] }),
    errors: t.field({ type: [ReconcileErrorType], description: 'Intents not checked.', resolve: (r) => r.errors ?? [] }),
    remaining: t.int({ description: 'Open Stripe intents left for the next run.', resolve: (r) => r.remaining ?? 0 }),
    userErrors: userErrorsField(t),
  }),
});

const SettlementConfigInput = inputFromZod('SettlementConfigInput', settlementConfigInput, 'A new settlement configuration version.');
const StripeDestinationLinkInput = inputFromZod('StripeDestinationLinkInput', destinationLinkInput, 'The Connect account to settle to.');

builder.queryFields((t) => ({
  settlementConfig: t.field({
    ...policy(READER),
    type: SettlementConfigType,
    description: 'The active settlement configuration with the linked Stripe destination, or the default envelope.',
    resolve: (_r, _a, ctx) => activeConfig(authed(ctx)),
  }),
  settlementConfigHistory: t.field({
    ...policy(READER),
    type: [SettlementConfigType],
    description: 'Recent settlement configuration versions, newest first.',
    args: { limit: t.arg.int({ required: false, description: 'How many (1–100, default 20).' }) },
    validate: z.object({ limit: z.number().int().min(1).max(100).nullish() }),
    resolve: (_r, { limit }, ctx) => configHistory(authed(ctx), limit ?? 20),
  }),
  stripeWebhookHealth: t.field({
    ...policy(READER),
    type: HealthType,
    description: 'Received, processed, ignored, failed and replayed Stripe events over the last hour, day and week.',
    resolve: (_r, _a, ctx) => webhookHealth(authed(ctx)),
  }),
  stripeWebhookFailures: t.prismaConnection(
    {
      ...policy(READER),
      type: 'StripeWebhookEvent',
      cursor: 'id',
      description: 'Stripe events that could not be applied, newest first.',
      validate: connectionArgs,
      resolve: (query, _r, _a, ctx) =>
        ctx.runtime.db.stripeWebhookEvent.findMany({
          ...query,
          where: { tenantId: principalOf(ctx).tenantId, status: 'failed' },
          orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'StripeWebhookEventConnection', description: 'A page of Stripe events.' },
    { name: 'StripeWebhookEventEdge', description: 'A Stripe event in a page.' },
  ),
}));

builder.mutationFields((t) => ({
  settlementConfigUpdate: t.field({
    ...policy(ADMIN_WRITE),
    type: ConfigPayload,
    description: 'Save a new immutable settlement configuration version after rail and address validation (audited in the same transaction).',
    args: { input: t.arg({ type: SettlementConfigInput, required: true, description: 'The configuration.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ config: await updateConfig(authed(ctx), input) })),
  }),
  stripeDestinationLink: t.field({
    ...policy(ADMIN_WRITE),
    type: DestinationPayload,
    description: 'Link (or refresh) the Stripe Connect account the live tenant settles to; the gateway reads it from Stripe.',
    args: { input: t.arg({ type: StripeDestinationLinkInput, required: true, description: 'The account.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(async () => ({ destination: await linkDestination(authed(ctx), input) })),
  }),
  stripeDestinationUnlink: t.field({
    ...policy(ADMIN_WRITE),
    type: DestinationPayload,
    description: 'Unlink the tenant’s Stripe destination; live Stripe rails are refused from then on.',
    resolve: (_r, _a, ctx) => withUserErrors(async () => ({ destination: await unlinkDestination(authed(ctx)) })),
  }),
  stripeReconcile: t.field({
    ...policy({ ...HUMAN_ADMIN, rateLimit: 'stripe_reconcile' }),
    type: ReconcilePayload,
    description: 'Read the PaymentIntents of the tenant’s open Stripe intents and advance what Stripe decided. Idempotent.',
    resolve: (_r, _a, ctx) => withUserErrors(() => reconcile(authed(ctx))),
  }),
}));
