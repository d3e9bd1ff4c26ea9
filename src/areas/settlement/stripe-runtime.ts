import './errors.ts';
import type { Runtime } from '../../context.ts';
import { DomainError } from '../../kernel/errors.ts';
import { GATEWAY_VERSION } from '../../version.ts';
import { createStripeClient, StripeCallError, type SettlementStripeClient } from './stripe.ts';

/** One Stripe client per runtime (the SDK keeps its own connection pool), made on first use. */
const clients = new WeakMap<Runtime, SettlementStripeClient>();

export const stripeConfigured = (rt: Runtime): boolean => Boolean(rt.config.STRIPE_SECRET_KEY);

export function stripeClient(rt: Runtime): SettlementStripeClient {
  let client = clients.get(rt);
  if (!client) {
    try {
      client = createStripeClient({ secretKey: rt.config.STRIPE_SECRET_KEY, apiBaseUrl: rt.config.STRIPE_API_BASE_URL, appVersion: GATEWAY_VERSION });
    } catch (error) {
      throw stripeFailure(error);
    }
    clients.set(rt, client);
  }
  return client;
}

/** A Stripe call's failure as the DomainError the caller answers with; anything else is rethrown as is. */
export function stripeFailure(error: unknown): unknown {
  if (!(error instanceof StripeCallError)) return error;
  switch (error.code) {
    case 'stripe_not_configured':
      return new DomainError('stripe_not_configured', 'This gateway has no Stripe key configured (STRIPE_SECRET_KEY)');
    case 'stripe_account_id_invalid':
    case 'stripe_account_not_found':
    case 'stripe_permission_denied':
    case 'stripe_authentication_failed':
    case 'stripe_rate_limited':
    case 'stripe_unavailable':
      return new DomainError(error.code, error.message);
    default:
      return new DomainError('stripe_request_failed', 'Stripe refused the request or answered with something unexpected', {
        details: { stripe_request_id: error.requestId, stripe_status: error.upstreamStatus },
      });
  }
}
