import './errors.ts';
import type { Principal, Runtime } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import { checkSettlementConfig, railAllowed } from './config-rules.ts';
import { activeConfigRow, refusalError } from './config.ts';
import { destinationFor } from './destinations.ts';
import { stripeConfigured } from './stripe-runtime.ts';

export type SettlementMode = 'simulated' | 'live';

/** The active configuration through this node's cache (invalidated on every node when a version is saved: src/kernel/cache.ts). */
async function currentConfigRow(rt: Runtime, tenantId: string) {
  return (await rt.cache.get(`settlement_config:${tenantId}`, async () => ({ row: await activeConfigRow(rt.db, tenantId) }), () => tenantId)).row;
}

/**
 * The settlement rule Harbor applies when an intent is created (signed create, agent checkout) and
 * when it is funded. An unconfigured sandbox tenant may use every rail through the simulator; an
 * unconfigured live tenant has none. Once a configuration is saved, a rail outside its
 * allowed_rails is refused (422 settlement_rail_not_allowed). A live rail must also still meet
 * the requirements it was saved under (a Stripe key, a linked destination that is ready, ACH
 * capability for ACH debit), each refused with its own code. Sandbox intents are simulated; live
 * ones settle through the provider.
 */
export async function settlementModeFor(rt: Runtime, principal: Pick<Principal, 'tenantId' | 'environment'>, rail: string): Promise<SettlementMode> {
  const config = await currentConfigRow(rt, principal.tenantId);
  if (!railAllowed(rail, config ? { allowed_rails: config.allowedRails as never } : null, principal.environment)) {
    throw new DomainError(
      'settlement_rail_not_allowed',
      config
        ? `settlement_rail ${rail} is not one of this tenant's allowed_rails`
        : `settlement_rail ${rail} is not enabled for this live tenant (no settlement configuration)`,
      { field: ['settlementRail'], details: { allowed_rails: config?.allowedRails ?? [], configuration_version: config?.version ?? 0 } },
    );
  }
  if (principal.environment === 'sandbox') return 'simulated';
  const check = checkSettlementConfig(
    { allowed_rails: [rail], x402_usdc_base_address: config!.x402UsdcBaseAddress },
    { environment: 'live', stripeConfigured: stripeConfigured(rt), destination: await destinationFor(rt.db, principal.tenantId, 'live') },
  );
  if (!check.ok) throw refusalError(check.refusals);
  return 'live';
}

/**
 * Funding on a live rail. The gateway never simulates live money: the provider reports the
 * outcome (Stripe through its webhooks or a reconcile), so funding stays pending until it does.
 */
export const awaitProviderFunding = (rail: string) => ({
  kind: 'pending' as const,
  funding: { settlement_rail: rail, settlement_mode: 'live', status: 'awaiting_provider' },
});

/** The configured default rail, for a caller that names none (agent checkout); null without one. */
export async function defaultRailFor(rt: Runtime, tenantId: string): Promise<string | null> {
  return (await currentConfigRow(rt, tenantId))?.defaultRail ?? null;
}
