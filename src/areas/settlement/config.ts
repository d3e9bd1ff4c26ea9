import './errors.ts';
import { z } from 'zod';
import type { Environment, Principal, Runtime, ServiceContext } from '../../context.ts';
import { canonicalJson } from '../../crypto/canonical-json.ts';
import { newId, sha256Hex } from '../../crypto/hash.ts';
import type { Tx } from '../../db.ts';
import type { Prisma, SettlementConfigVersion } from '../../generated/prisma/client.ts';
import { recordAudit } from '../../kernel/audit/service.ts';
import { DomainError } from '../../kernel/errors.ts';
import { checkSettlementConfig, CONFIGURABLE_RAILS, type ConfigRefusal, type ConfigurableRail } from './config-rules.ts';
import { destinationFor, type DestinationState } from './destinations.ts';
import { stripeConfigured } from './stripe-runtime.ts';

type Ctx = ServiceContext & { principal: Principal };

/**
 * Every rail the Paybond SDK knows: what an unconfigured sandbox tenant may use through the
 * simulator. Harbor's rail enum is the same list (a parity test checks it); importing it here would
 * make an import cycle, since Harbor applies this area's rule.
 */
export const SDK_RAILS = ['stripe_connect', 'stripe_ach_debit', 'stripe_mpp', 'adyen_manual_capture', 'x402_usdc_base'] as const;

export interface RailReadiness {
  rail: ConfigurableRail;
  /** Whether the active configuration (or the default envelope) allows it. */
  allowed: boolean;
  /** Whether a configuration allowing it would be accepted now. */
  ready: boolean;
  /** The codes of the unmet requirements (the same codes a save would be refused with). */
  unmet: string[];
}

/** The active configuration, or the default envelope of an unconfigured tenant (version 0). */
export interface SettlementConfigView {
  configured: boolean;
  version: number;
  environment: Environment;
  /** simulated (sandbox: no money moves) or live. */
  settlementMode: 'simulated' | 'live';
  allowedRails: string[];
  defaultRail: string | null;
  x402UsdcBaseAddress: string | null;
  digestHex: string | null;
  /** The linked destination and its readiness when this version was saved (null in sandbox or without one). */
  destinationSnapshot: unknown;
  stripeConfigured: boolean;
  stripeDestination: DestinationState | null;
  railReadiness: RailReadiness[];
  createdAt: Date | null;
  createdBy: string | null;
}

export const settlementConfigInput = z.object({
  allowedRails: z
    .array(z.string().max(64))
    .max(16)
    .describe(`Rails Harbor may use for this tenant, any of ${CONFIGURABLE_RAILS.join(', ')} (an empty list turns settlement off).`),
  defaultRail: z.string().max(64).nullish().describe('The rail used when a caller names none; must be one of allowed_rails.'),
  x402UsdcBaseAddress: z
    .string()
    .max(100)
    .nullish()
    .describe('EIP-55 checksummed Base address receiving x402 USDC (required for x402_usdc_base on a live tenant).'),
});
export type SettlementConfigInput = z.infer<typeof settlementConfigInput>;

export function activeConfigRow(db: Pick<Tx, 'settlementConfigVersion'>, tenantId: string): Promise<SettlementConfigVersion | null> {
  return db.settlementConfigVersion.findFirst({ where: { tenantId }, orderBy: { version: 'desc' } });
}

/** A refused rule as the error the API answers with (each with its own code). */
export function refusalError(refusals: ConfigRefusal[]): DomainError {
  const [first] = refusals as [ConfigRefusal, ...ConfigRefusal[]];
  return new DomainError(first.code, first.message, {
    field: first.field.map((f) => f.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())),
    details: { ...first.details, ...(refusals.length > 1 ? { refusals: refusals.map(({ code, message }) => ({ code, message })) } : {}) },
  });
}

function readiness(rt: Runtime, environment: Environment, destination: DestinationState | null, allowed: readonly string[], address: string | null): RailReadiness[] {
  return CONFIGURABLE_RAILS.map((rail) => {
    const check = checkSettlementConfig(
      { allowed_rails: [rail], x402_usdc_base_address: address },
      { environment, stripeConfigured: stripeConfigured(rt), destination },
    );
    return { rail, allowed: allowed.includes(rail), ready: check.ok, unmet: check.ok ? [] : check.refusals.map((r) => r.code) };
  });
}

function view(ctx: Ctx, row: SettlementConfigVersion | null, destination: DestinationState | null): SettlementConfigView {
  const { environment } = ctx.principal;
  const allowedRails = row ? row.allowedRails : environment === 'sandbox' ? [...SDK_RAILS] : [];
  const address = row?.x402UsdcBaseAddress ?? null;
  return {
    configured: Boolean(row),
    version: row?.version ?? 0,
    environment,
    settlementMode: environment === 'sandbox' ? 'simulated' : 'live',
    allowedRails,
    defaultRail: row?.defaultRail ?? null,
    x402UsdcBaseAddress: address,
    digestHex: row?.digestHex ?? null,
    destinationSnapshot: row?.destinationSnapshot ?? null,
    stripeConfigured: stripeConfigured(ctx.runtime),
    stripeDestination: destination,
    railReadiness: readiness(ctx.runtime, environment, destination, allowedRails, address),
    createdAt: row?.createdAt ?? null,
    createdBy: row?.createdBy ?? null,
  };
}

const currentDestination = (ctx: Ctx, db: Pick<Tx, 'stripeDestination'> = ctx.runtime.db) => destinationFor(db, ctx.principal.tenantId, ctx.principal.environment);

export async function activeConfig(ctx: Ctx): Promise<SettlementConfigView> {
  const [row, destination] = await Promise.all([activeConfigRow(ctx.runtime.db, ctx.principal.tenantId), currentDestination(ctx)]);
  return view(ctx, row, destination);
}

/** Recent versions, newest first; each shows today's destination and readiness next to what was saved. */
export async function configHistory(ctx: Ctx, limit: number): Promise<SettlementConfigView[]> {
  const [rows, destination] = await Promise.all([
    ctx.runtime.db.settlementConfigVersion.findMany({ where: { tenantId: ctx.principal.tenantId }, orderBy: { version: 'desc' }, take: limit }),
    currentDestination(ctx),
  ]);
  return rows.map((row) => view(ctx, row, destination));
}

/**
 * Save a new immutable version after the rail and address rules (config-rules.ts) pass, with its
 * audit event in the same transaction. The destination the rules saw is recorded with it.
 */
export async function updateConfig(ctx: Ctx, input: SettlementConfigInput): Promise<SettlementConfigView> {
  const { tenantId, environment } = ctx.principal;
  return ctx.runtime.db.$transaction(async (tx) => {
    const destination = await currentDestination(ctx, tx);
    const check = checkSettlementConfig(
      { allowed_rails: input.allowedRails, default_rail: input.defaultRail, x402_usdc_base_address: input.x402UsdcBaseAddress },
      { environment, stripeConfigured: stripeConfigured(ctx.runtime), destination },
    );
    if (!check.ok) throw refusalError(check.refusals);
    const { config } = check;
    const current = await activeConfigRow(tx, tenantId);
    const snapshot = destination && !destination.simulated ? { account_id: destination.account_id, status: destination.status, readiness: destination.readiness } : null;
    const row = await tx.settlementConfigVersion
      .create({
        data: {
          id: newId('stc'),
          tenantId,
          version: (current?.version ?? 0) + 1,
          allowedRails: config.allowed_rails,
          defaultRail: config.default_rail,
          x402UsdcBaseAddress: config.x402_usdc_base_address,
          destinationSnapshot: (snapshot ?? undefined) as Prisma.InputJsonValue | undefined,
          digestHex: sha256Hex(canonicalJson(config)),
          createdBy: ctx.principal.subjectId,
          createdAt: ctx.runtime.clock.now(),
        },
      })
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === 'P2002') throw new DomainError('conflict', 'The settlement configuration was saved concurrently; read it and save again');
        throw error;
      });
    await recordAudit(tx, ctx, {
      tenantId,
      eventType: 'settlement.config_updated',
      resource: 'settlement_config',
      resourceId: String(row.version),
      details: { previous_version: current?.version ?? 0, ...config, digest_hex: row.digestHex, stripe_account_id: snapshot?.account_id ?? null },
    });
    return view(ctx, row, destination);
  });
}
