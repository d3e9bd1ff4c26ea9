import './errors.ts';
import type { z } from 'zod';
import type { Principal, Runtime } from '../../context.ts';
import { describedEnum } from '../../kernel/json-schema.ts';
import { DomainError } from '../../kernel/errors.ts';
import { settlementModeFor as settlementRule, type SettlementMode } from '../settlement/routing.ts';

/** The rails the Paybond SDK knows. */
export const settlementRail = describedEnum('SettlementRail', 'How money moves for an intent.', {
  stripe_connect: 'Card or balance payment through Stripe Connect.',
  stripe_ach_debit: 'US bank debit through Stripe (funding completes later).',
  stripe_mpp: 'Stripe machine payments (HTTP 402 with a Payment challenge).',
  adyen_manual_capture: 'Adyen authorisation with manual capture.',
  x402_usdc_base: 'USDC on Base through an x402 payment challenge.',
});
export const SETTLEMENT_RAILS = settlementRail.options;
export type SettlementRail = z.infer<typeof settlementRail>;

/**
 * Which rails a tenant may request, and how they settle: the settlement area's rule (the active
 * settlement configuration, or the default envelope of an unconfigured tenant).
 */
export async function settlementModeFor(rt: Runtime, principal: Pick<Principal, 'tenantId' | 'environment'>, rail: string): Promise<SettlementMode> {
  if (!SETTLEMENT_RAILS.includes(rail as SettlementRail)) {
    throw new DomainError('invalid_request', `settlement_rail must be one of ${SETTLEMENT_RAILS.join(', ')}`, { field: ['settlementRail'] });
  }
  return settlementRule(rt, principal, rail);
}

export interface FundingAttempt {
  /** x402 `payment-signature` header, when the client paid a challenge. */
  paymentSignature?: string | null;
  /** MPP credential from `x-paybond-payment-authorization: Payment <cred>`. */
  paymentAuthorization?: string | null;
  attempt: number;
}

/** What the rail asks of the client before it funds: an x402 payment requirement or an MPP challenge. */
export type PaymentChallenge =
  | { kind: 'x402'; requirements: Record<string, unknown> }
  | { kind: 'mpp'; id: string; realm: string; method: string; intent: string };

export type FundingOutcome =
  | { kind: 'funded'; funding: Record<string, unknown>; paymentResponse?: string }
  | { kind: 'pending'; funding: Record<string, unknown> }
  | { kind: 'payment_required'; funding: Record<string, unknown>; challenge: PaymentChallenge };

/**
 * The sandbox simulator, one behaviour per rail so integrators rehearse each flow:
 * card-like rails fund at once; ACH debit is pending on the first call and funded on the next;
 * x402 and MPP ask for payment until the client presents a payment credential.
 */
export function simulateFunding(rail: string, intent: { intentId: string; amountCents: number }, attempt: FundingAttempt): FundingOutcome {
  const base = { settlement_rail: rail, settlement_mode: 'simulated' };
  switch (rail) {
    case 'stripe_ach_debit':
      return attempt.attempt <= 1
        ? { kind: 'pending', funding: { ...base, status: 'authorization_pending', payment_reference: `PAYBOND-SIM-${intent.intentId.slice(0, 8)}` } }
        : { kind: 'funded', funding: { ...base, status: 'authorization_succeeded' } };
    case 'x402_usdc_base': {
      if (!attempt.paymentSignature) {
        const requirements = { asset: 'usdc', network: 'base-sepolia', amount: (intent.amountCents / 100).toFixed(2), payTo: '0x000000000000000000000000000000000000dEaD', simulated: true };
        return { kind: 'payment_required', funding: { ...base, status: 'created', asset: 'usdc', network: 'base' }, challenge: { kind: 'x402', requirements } };
      }
      return { kind: 'funded', funding: { ...base, status: 'authorization_succeeded', asset: 'usdc', network: 'base' }, paymentResponse: 'simulated-x402-payment-response' };
    }
    case 'stripe_mpp':
      if (!attempt.paymentAuthorization) {
        return { kind: 'payment_required', funding: { ...base, status: 'created' }, challenge: { kind: 'mpp', id: intent.intentId, realm: 'paybond-sandbox', method: 'stripe', intent: 'charge' } };
      }
      return { kind: 'funded', funding: { ...base, status: 'authorization_succeeded' } };
    default:
      return { kind: 'funded', funding: { ...base, status: 'authorization_succeeded' } };
  }
}

export type SettlementOutcome = 'succeeded' | 'failed' | 'unknown';
