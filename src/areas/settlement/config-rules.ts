import { checkReceiveAddress } from './eip55.ts';
import type { CapabilityStatus } from './stripe.ts';

/**
 * The rules a settlement configuration must satisfy before it becomes a new version. Pure: the
 * caller passes what it knows (environment from the credential, whether a Stripe key is
 * configured, the linked destination as stored) and gets back the normalised configuration or
 * every unmet requirement, each with its own code (all 422 except `invalid_request`, 400).
 */
export const CONFIGURABLE_RAILS = ['stripe_connect', 'stripe_ach_debit', 'x402_usdc_base'] as const;
export type ConfigurableRail = (typeof CONFIGURABLE_RAILS)[number];
const STRIPE_RAILS: ReadonlySet<string> = new Set(['stripe_connect', 'stripe_ach_debit']);

export type ConfigRefusalCode =
  | 'invalid_request'
  | 'settlement_rail_unsupported'
  | 'settlement_default_rail_not_allowed'
  | 'stripe_not_configured'
  | 'stripe_destination_required'
  | 'stripe_destination_inactive'
  | 'stripe_destination_mode_mismatch'
  | 'stripe_destination_not_ready'
  | 'stripe_ach_debit_not_ready'
  | 'x402_address_required'
  | 'x402_address_malformed'
  | 'x402_address_not_checksummed'
  | 'x402_address_checksum_mismatch'
  | 'x402_address_zero';

export interface ConfigRefusal {
  code: ConfigRefusalCode;
  message: string;
  field: string[];
  details?: Record<string, unknown>;
}

/** A linked Stripe destination as the gateway stores it (refreshed from Stripe on link and on `account.updated`). */
export interface DestinationView {
  account_id: string;
  /** `active` while linked; `unlinked` after an admin removed it; `disabled` when Stripe disabled the account. */
  status: 'active' | 'unlinked' | 'disabled';
  /** Linked by the gateway itself from its own Stripe key (never a client-asserted id). */
  server_owned: boolean;
  /** The Paybond sandbox sentinel: no Stripe account behind it. */
  simulated: boolean;
  livemode: boolean;
  charges_enabled: boolean;
  payouts_enabled: boolean;
  ach_debit_capability: CapabilityStatus;
  disabled_reason: string | null;
}

export type Readiness = { ready: true; unmet: [] } | { ready: false; unmet: string[] };

/**
 * What each Stripe rail still needs from a destination. A Connect destination receives money
 * when Stripe lets it take charges and pay out; ACH debit additionally needs the
 * `us_bank_account_ach_payments` capability to be `active` (not `pending` review).
 */
export function destinationReadiness(d: Pick<DestinationView, 'status' | 'charges_enabled' | 'payouts_enabled' | 'ach_debit_capability' | 'disabled_reason'>): {
  stripe_connect: Readiness;
  stripe_ach_debit: Readiness;
} {
  const connect: string[] = [];
  if (d.status !== 'active') connect.push(`destination_${d.status}`);
  if (d.disabled_reason) connect.push('account_disabled');
  if (!d.charges_enabled) connect.push('charges_disabled');
  if (!d.payouts_enabled) connect.push('payouts_disabled');
  const ach = d.ach_debit_capability === 'active' ? [...connect] : [...connect, `ach_debit_capability_${d.ach_debit_capability}`];
  const r = (unmet: string[]): Readiness => (unmet.length === 0 ? { ready: true, unmet: [] } : { ready: false, unmet });
  return { stripe_connect: r(connect), stripe_ach_debit: r(ach) };
}

/** The destination sandbox tenants settle to: the simulator, ready for every Stripe rail. */
export const SANDBOX_SIMULATOR_DESTINATION: Readonly<DestinationView> = Object.freeze({
  account_id: 'paybond_sandbox_simulator',
  status: 'active',
  server_owned: true,
  simulated: true,
  livemode: false,
  charges_enabled: true,
  payouts_enabled: true,
  ach_debit_capability: 'active',
  disabled_reason: null,
});

export interface ConfigContext {
  /** From the authenticated credential, never from the request. */
  environment: 'live' | 'sandbox';
  /** Whether STRIPE_SECRET_KEY is set (live Stripe rails need it to reach the destination). */
  stripeConfigured: boolean;
  /** The tenant's linked destination, or null. Ignored for sandbox tenants. */
  destination: DestinationView | null;
}

export interface SettlementConfig {
  /** Sorted, without duplicates: the canonical form a version's digest covers. */
  allowed_rails: ConfigurableRail[];
  default_rail: ConfigurableRail | null;
  x402_usdc_base_address: string | null;
}

export type ConfigCheck = { ok: true; config: SettlementConfig } | { ok: false; refusals: ConfigRefusal[] };

const isConfigurable = (r: string): r is ConfigurableRail => (CONFIGURABLE_RAILS as readonly string[]).includes(r);

export function checkSettlementConfig(
  input: { allowed_rails?: unknown; default_rail?: unknown; x402_usdc_base_address?: unknown },
  ctx: ConfigContext,
): ConfigCheck {
  const refusals: ConfigRefusal[] = [];
  const refuse = (code: ConfigRefusalCode, message: string, field: string, details?: Record<string, unknown>) =>
    refusals.push({ code, message, field: [field], ...(details ? { details } : {}) });

  if (!Array.isArray(input.allowed_rails) || input.allowed_rails.some((r) => typeof r !== 'string')) {
    refuse('invalid_request', 'allowed_rails must be an array of rail names', 'allowed_rails');
    return { ok: false, refusals };
  }
  const rails = [...new Set(input.allowed_rails as string[])].sort();
  const unsupported = rails.filter((r) => !isConfigurable(r));
  if (unsupported.length > 0) {
    refuse('settlement_rail_unsupported', `allowed_rails may contain only ${CONFIGURABLE_RAILS.join(', ')}`, 'allowed_rails', { unsupported });
  }
  const allowed = rails.filter(isConfigurable);

  let defaultRail: ConfigurableRail | null = null;
  if (input.default_rail !== undefined && input.default_rail !== null) {
    if (typeof input.default_rail !== 'string' || !allowed.includes(input.default_rail as ConfigurableRail)) {
      refuse('settlement_default_rail_not_allowed', 'default_rail must be one of allowed_rails', 'default_rail');
    } else {
      defaultRail = input.default_rail as ConfigurableRail;
    }
  }

  let address: string | null = null;
  if (input.x402_usdc_base_address !== undefined && input.x402_usdc_base_address !== null) {
    const checked = checkReceiveAddress(input.x402_usdc_base_address);
    if (checked.ok) address = checked.address;
    else refuse(`x402_${checked.code}` as ConfigRefusalCode, checked.message, 'x402_usdc_base_address');
  } else if (allowed.includes('x402_usdc_base') && ctx.environment === 'live') {
    // Sandbox x402 settles to the simulator; live money needs the tenant's own Base address.
    refuse('x402_address_required', 'x402_usdc_base needs x402_usdc_base_address, the Base address that receives USDC', 'x402_usdc_base_address');
  }

  const stripeRails = allowed.filter((r) => STRIPE_RAILS.has(r));
  if (stripeRails.length > 0 && ctx.environment === 'live') {
    const d = ctx.destination;
    if (!ctx.stripeConfigured) {
      refuse('stripe_not_configured', 'Stripe rails need the gateway to have a Stripe key (STRIPE_SECRET_KEY)', 'allowed_rails', { rails: stripeRails });
    } else if (!d || d.status === 'unlinked' || d.simulated) {
      refuse('stripe_destination_required', 'Stripe rails need a linked Stripe Connect destination', 'allowed_rails', { rails: stripeRails });
    } else if (!d.server_owned || d.status !== 'active') {
      refuse('stripe_destination_inactive', 'The linked Stripe destination is not active', 'allowed_rails', { account_id: d.account_id, status: d.status });
    } else if (!d.livemode) {
      refuse('stripe_destination_mode_mismatch', 'A live tenant needs a live-mode Stripe destination', 'allowed_rails', { account_id: d.account_id });
    } else {
      const readiness = destinationReadiness(d);
      if (!readiness.stripe_connect.ready) {
        refuse('stripe_destination_not_ready', 'The linked Stripe destination cannot take charges and pay out yet', 'allowed_rails', {
          account_id: d.account_id,
          unmet: readiness.stripe_connect.unmet,
        });
      } else if (stripeRails.includes('stripe_ach_debit') && !readiness.stripe_ach_debit.ready) {
        refuse('stripe_ach_debit_not_ready', "The linked Stripe destination's ACH debit capability is not active", 'allowed_rails', {
          account_id: d.account_id,
          ach_debit_capability: d.ach_debit_capability,
        });
      }
    }
  }

  if (refusals.length > 0) return { ok: false, refusals };
  return { ok: true, config: { allowed_rails: allowed, default_rail: defaultRail, x402_usdc_base_address: address } };
}

/**
 * The rule for Harbor creation and funding: a rail outside the active configuration is refused.
 * A tenant with no configuration yet keeps today's default: a sandbox tenant may use every rail
 * the SDK knows (all simulated, so its x402 and MPP challenge flows keep working), a live
 * tenant none. The caller has already checked that `rail` is a rail name at all.
 */
export function railAllowed(rail: string, config: Pick<SettlementConfig, 'allowed_rails'> | null, environment: 'live' | 'sandbox'): boolean {
  if (config) return (config.allowed_rails as readonly string[]).includes(rail);
  return environment === 'sandbox';
}
