import type { Environment } from '../../context.ts';
import { DomainError } from '../../errors.ts';

/** The rails the Paybond SDK knows. */
export const SETTLEMENT_RAILS = ['stripe_connect', 'stripe_ach_debit', 'stripe_mpp', 'adyen_manual_capture', 'x402_usdc_base'] as const;
export type SettlementRail = (typeof SETTLEMENT_RAILS)[number];

/**
 * Which rails a tenant may request, and how they settle. The settlement-configuration area will
 * own this per tenant; until then the default is: sandbox tenants may use every rail through the
 * Paybond simulator (no provider call, no money moves); live tenants have no rail configured, so
 * live intents are refused rather than pretending to move money.
 */
export function settlementModeFor(environment: Environment, rail: string): 'simulated' {
  if (!SETTLEMENT_RAILS.includes(rail as SettlementRail)) {
    throw new DomainError('invalid_request', `settlement_rail must be one of ${SETTLEMENT_RAILS.join(', ')}`, { field: ['settlementRail'] });
  }
  if (environment !== 'sandbox') {
    throw new DomainError('settlement_rail_not_allowed', `settlement_rail ${rail} is not enabled for this live tenant (no settlement configuration)`, {
      field: ['settlementRail'],
    });
  }
  return 'simulated';
}

export interface FundingAttempt {
  /** x402 `payment-signature` header, when the client paid a challenge. */
  paymentSignature?: string | null;
  /** MPP credential from `x-paybond-payment-authorization: Payment <cred>`. */
  paymentAuthorization?: string | null;
  attempt: number;
}

export type FundingOutcome =
  | { kind: 'funded'; funding: Record<string, unknown>; headers?: Record<string, string> }
  | { kind: 'pending'; funding: Record<string, unknown>; headers?: Record<string, string> }
  | { kind: 'payment_required'; funding: Record<string, unknown>; headers: Record<string, string> };

/**
 * The sandbox simulator, one behaviour per rail so integrators rehearse each flow:
 * card-like rails fund at once; ACH debit is pending on the first call and funded on the next;
 * x402 and MPP answer 402 with a challenge until the client presents a payment credential.
 */
export function simulateFunding(rail: string, intent: { intentId: string; amountCents: number }, attempt: FundingAttempt): FundingOutcome {
  const base = { settlement_rail: rail, harbor_fund_endpoint: `/harbor/intents/${intent.intentId}/fund`, settlement_mode: 'simulated' };
  switch (rail) {
    case 'stripe_ach_debit':
      return attempt.attempt <= 1
        ? { kind: 'pending', funding: { ...base, status: 'authorization_pending', payment_reference: `PAYBOND-SIM-${intent.intentId.slice(0, 8)}` } }
        : { kind: 'funded', funding: { ...base, status: 'authorization_succeeded' } };
    case 'x402_usdc_base': {
      if (!attempt.paymentSignature) {
        const challenge = { asset: 'usdc', network: 'base-sepolia', amount: (intent.amountCents / 100).toFixed(2), payTo: '0x000000000000000000000000000000000000dEaD', simulated: true };
        return { kind: 'payment_required', funding: { ...base, status: 'created', asset: 'usdc', network: 'base' }, headers: { 'payment-required': JSON.stringify(challenge) } };
      }
      return { kind: 'funded', funding: { ...base, status: 'authorization_succeeded', asset: 'usdc', network: 'base' }, headers: { 'payment-response': 'simulated-x402-payment-response' } };
    }
    case 'stripe_mpp':
      if (!attempt.paymentAuthorization) {
        return {
          kind: 'payment_required',
          funding: { ...base, status: 'created' },
          headers: { 'www-authenticate': `Payment id="${intent.intentId}", realm="paybond-sandbox", method="stripe", intent="charge"` },
        };
      }
      return { kind: 'funded', funding: { ...base, status: 'authorization_succeeded' } };
    default:
      return { kind: 'funded', funding: { ...base, status: 'authorization_succeeded' } };
  }
}

export type SettlementOutcome = 'succeeded' | 'failed' | 'unknown';
