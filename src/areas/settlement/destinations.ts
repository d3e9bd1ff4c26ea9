import './errors.ts';
import { z } from 'zod';
import type { Principal, ServiceContext } from '../../context.ts';
import type { Tx } from '../../db.ts';
import type { StripeDestination } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError, notFound } from '../../kernel/errors.ts';
import { destinationReadiness, SANDBOX_SIMULATOR_DESTINATION, type DestinationView, type Readiness } from './config-rules.ts';
import type { ConnectAccountState } from './stripe.ts';
import { stripeClient, stripeFailure } from './stripe-runtime.ts';

type Ctx = ServiceContext & { principal: Principal };

/** A destination as the API shows it: the stored state, and what each Stripe rail still needs from it. */
export interface DestinationState extends DestinationView {
  details_submitted: boolean;
  transfers_capability: string;
  card_payments_capability: string;
  country: string | null;
  default_currency: string | null;
  linked_at: Date | null;
  refreshed_at: Date | null;
  unlinked_at: Date | null;
  readiness: { stripe_connect: Readiness; stripe_ach_debit: Readiness };
}

function toState(row: StripeDestination): DestinationState {
  const view: DestinationView = {
    account_id: row.accountId,
    status: row.status as DestinationView['status'],
    server_owned: true,
    simulated: false,
    livemode: row.livemode,
    charges_enabled: row.chargesEnabled,
    payouts_enabled: row.payoutsEnabled,
    ach_debit_capability: row.achDebitCapability,
    disabled_reason: row.disabledReason,
  };
  return {
    ...view,
    details_submitted: row.detailsSubmitted,
    transfers_capability: row.transfersCapability,
    card_payments_capability: row.cardPaymentsCapability,
    country: row.country,
    default_currency: row.defaultCurrency,
    linked_at: row.linkedAt,
    refreshed_at: row.refreshedAt,
    unlinked_at: row.unlinkedAt,
    readiness: destinationReadiness(view),
  };
}

/** Sandbox tenants settle to the Paybond simulator: ready for every Stripe rail, no Stripe account behind it. */
const SIMULATOR_STATE: DestinationState = {
  ...SANDBOX_SIMULATOR_DESTINATION,
  details_submitted: true,
  transfers_capability: 'active',
  card_payments_capability: 'active',
  country: null,
  default_currency: null,
  linked_at: null,
  refreshed_at: null,
  unlinked_at: null,
  readiness: destinationReadiness(SANDBOX_SIMULATOR_DESTINATION),
};

/** The tenant's destination: the simulator in sandbox, else its linked (or last unlinked) Stripe account, or null. */
export async function destinationFor(db: Pick<Tx, 'stripeDestination'>, tenantId: string, environment: 'live' | 'sandbox'): Promise<DestinationState | null> {
  if (environment === 'sandbox') return SIMULATOR_STATE;
  const row = await db.stripeDestination.findUnique({ where: { tenantId } });
  return row ? toState(row) : null;
}

export const destinationLinkInput = z.object({
  accountId: z.string().trim().min(1).max(255).describe('The Stripe Connect account id (acct_…) of the tenant, as shown in the Stripe dashboard.'),
});

const accountFields = (account: ConnectAccountState) => ({
  status: account.disabled_reason ? 'disabled' : 'active',
  livemode: account.livemode,
  chargesEnabled: account.charges_enabled,
  payoutsEnabled: account.payouts_enabled,
  detailsSubmitted: account.details_submitted,
  achDebitCapability: account.ach_debit_capability,
  transfersCapability: account.transfers_capability,
  cardPaymentsCapability: account.card_payments_capability,
  disabledReason: account.disabled_reason,
  country: account.country,
  defaultCurrency: account.default_currency,
});

/**
 * Link a Connect account: the gateway reads it from Stripe with its own key (so the destination is
 * server-owned, never a client-asserted state) and records its charge, payout and capability state.
 * Linking again refreshes it, or replaces the previous account. One account serves one tenant.
 */
export async function linkDestination(ctx: Ctx, input: z.infer<typeof destinationLinkInput>): Promise<DestinationState> {
  const { tenantId, environment } = ctx.principal;
  if (environment === 'sandbox') {
    throw new DomainError('sandbox_uses_simulator', 'Sandbox tenants settle to the Paybond simulator; link a Stripe account on the live tenant');
  }
  let account: ConnectAccountState;
  try {
    account = await stripeClient(ctx.runtime).retrieveAccount(input.accountId);
  } catch (error) {
    throw stripeFailure(error);
  }
  if (!account.livemode) {
    throw new DomainError('stripe_destination_mode_mismatch', 'A live tenant needs a live-mode Stripe account (the gateway read this one with a test key)', {
      details: { account_id: account.account_id },
    });
  }
  const now = ctx.runtime.clock.now();
  return ctx.runtime.db.$transaction(async (tx) => {
    const previous = await tx.stripeDestination.findUnique({ where: { tenantId } });
    const data = { ...accountFields(account), accountId: account.account_id, linkedAccountId: account.account_id, linkedBy: ctx.principal.subjectId, linkedAt: now, refreshedAt: now, unlinkedAt: null };
    const row = await tx.stripeDestination.upsert({ where: { tenantId }, create: { tenantId, ...data }, update: data }).catch((error: unknown) => {
      if ((error as { code?: string }).code === 'P2002') {
        throw new DomainError('stripe_destination_taken', 'This Stripe account is already linked to another tenant', { field: ['accountId'] });
      }
      throw error;
    });
    await recordAudit(tx, ctx, {
      tenantId,
      eventType: 'settlement.stripe_destination_linked',
      resource: 'stripe_destination',
      resourceId: row.accountId,
      details: {
        previous_account_id: previous?.linkedAccountId ?? null,
        charges_enabled: row.chargesEnabled,
        payouts_enabled: row.payoutsEnabled,
        ach_debit_capability: row.achDebitCapability,
        status: row.status,
      },
    });
    return toState(row);
  });
}

/** Unlink the tenant's destination: live Stripe rails are refused from then on. */
export async function unlinkDestination(ctx: Ctx): Promise<DestinationState> {
  const { tenantId } = ctx.principal;
  return ctx.runtime.db.$transaction(async (tx) => {
    const current = await tx.stripeDestination.findUnique({ where: { tenantId } });
    if (!current || current.status === 'unlinked') throw notFound('Linked Stripe destination');
    const row = await tx.stripeDestination.update({
      where: { tenantId },
      data: { status: 'unlinked', linkedAccountId: null, unlinkedAt: ctx.runtime.clock.now() },
    });
    await recordAudit(tx, ctx, { tenantId, eventType: 'settlement.stripe_destination_unlinked', resource: 'stripe_destination', resourceId: row.accountId });
    return toState(row);
  });
}

/**
 * Refresh a linked destination from an `account.updated` event (the whole account) or a
 * `capability.updated` event (one capability). Returns the tenant concerned, or null when no
 * tenant has that account linked.
 */
export async function refreshDestination(
  tx: Tx,
  now: Date,
  change: { account: ConnectAccountState } | { accountId: string; capability: string; status: string },
): Promise<string | null> {
  const accountId = 'account' in change ? change.account.account_id : change.accountId;
  const row = await tx.stripeDestination.findUnique({ where: { linkedAccountId: accountId } });
  if (!row) return null;
  let data: Record<string, unknown>;
  if ('account' in change) data = accountFields(change.account);
  else {
    const column = { us_bank_account_ach_payments: 'achDebitCapability', transfers: 'transfersCapability', card_payments: 'cardPaymentsCapability' }[change.capability];
    if (!column) return row.tenantId;
    data = { [column]: change.status };
  }
  await tx.stripeDestination.update({ where: { tenantId: row.tenantId }, data: { ...data, refreshedAt: now } });
  return row.tenantId;
}
