import { z } from 'zod';
import { settlementConfigInput } from '../../src/areas/settlement/config.ts';
import { destinationLinkInput } from '../../src/areas/settlement/destinations.ts';
import { receiveStripeWebhook } from '../../src/areas/settlement/webhooks.ts';
import { jsonResponse } from '../../src/kernel/http/envelope.ts';
import { requestState } from '../../src/kernel/http/request-state.ts';
import { PUBLIC } from '../../src/kernel/policy.ts';
import { handler, operation, snakeFields, type RestRoute } from '../route.ts';
import { pageQuery, pageVariables } from '../schemas.ts';

const USER_ERRORS = 'userErrors { code message field details }';
const configTag = 'Settlement configuration';
const opsTag = 'Administrative settlement operations';

const READINESS = 'ready unmet';
const DESTINATION = `${snakeFields(
  'accountId status simulated serverOwned livemode chargesEnabled payoutsEnabled detailsSubmitted achDebitCapability transfersCapability cardPaymentsCapability disabledReason country defaultCurrency linkedAt refreshedAt unlinkedAt',
)} stripe_connect: stripeConnect { ${READINESS} } stripe_ach_debit: stripeAchDebit { ${READINESS} }`;
const CONFIG = `${snakeFields('configured version environment settlementMode allowedRails defaultRail x402UsdcBaseAddress digestHex destinationSnapshot stripeConfigured createdAt createdBy')}
  stripe_destination: stripeDestination { ${DESTINATION} } rail_readiness: railReadiness { rail allowed ready unmet }`;
const WEBHOOK_EVENT = `node_id: id ${snakeFields('eventId type status errorCode errorMessage intentId account livemode replayCount stripeCreatedAt receivedAt lastReceivedAt')}`;

export const settlementRoutes: RestRoute[] = [
  operation({
    method: 'GET',
    path: '/v1/admin/settlement/config',
    summary: 'The active settlement configuration plus the linked Stripe destination state, or the unconfigured default envelope (version 0).',
    tag: configTag,
    operation: `{ settlementConfig { ${CONFIG} } }`,
    variables: () => ({}),
  }),
  operation({
    method: 'PUT',
    path: '/v1/admin/settlement/config',
    summary: 'Save a new immutable configuration version after rail and address validation; each unmet requirement is a 422 with its own code.',
    tag: configTag,
    body: settlementConfigInput,
    example: { body: { allowed_rails: ['stripe_connect', 'x402_usdc_base'], default_rail: 'stripe_connect', x402_usdc_base_address: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' } },
    errors: [409, 422],
    operation: `mutation($input: SettlementConfigInput!) { settlementConfigUpdate(input: $input) { config { ${CONFIG} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'config' },
  }),
  operation({
    method: 'GET',
    path: '/v1/admin/settlement/config/history',
    summary: 'Recent settlement configuration versions, newest first.',
    tag: configTag,
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).optional() }),
    operation: `query($limit: Int) { settlementConfigHistory(limit: $limit) { ${CONFIG} } }`,
    variables: ({ query }) => ({ limit: query.limit }),
    shape: { wrap: 'versions' },
  }),
  operation({
    method: 'POST',
    path: '/v1/admin/settlement/stripe-destination',
    summary: 'Link (or refresh) the Stripe Connect account a live tenant settles to: the gateway reads its charge, payout and ACH debit state from Stripe.',
    tag: configTag,
    body: destinationLinkInput,
    example: { body: { account_id: 'acct_1Example' } },
    errors: [409, 422, 502, 503],
    operation: `mutation($input: StripeDestinationLinkInput!) { stripeDestinationLink(input: $input) { destination { ${DESTINATION} } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'destination' },
  }),
  operation({
    method: 'DELETE',
    path: '/v1/admin/settlement/stripe-destination',
    summary: 'Unlink the tenant’s Stripe destination; live Stripe rails are refused from then on.',
    tag: configTag,
    errors: [404],
    operation: `mutation { stripeDestinationUnlink { destination { ${DESTINATION} } ${USER_ERRORS} } }`,
    variables: () => ({}),
    shape: { pick: 'destination' },
  }),
  operation({
    method: 'POST',
    path: '/v1/stripe/reconcile',
    summary: 'Refresh Stripe settlement status for the authenticated tenant: read the PaymentIntents of open Stripe intents and advance what changed (idempotent).',
    tag: opsTag,
    body: z.object({}),
    example: { body: {} },
    errors: [422, 502, 503],
    operation: `mutation { stripeReconcile { checked unchanged remaining
      changed { ${snakeFields('intentId paymentIntentId from to actions outcome')} }
      mismatches { ${snakeFields('intentId paymentIntentId state reason outcome')} }
      errors { ${snakeFields('intentId paymentIntentId code')} } ${USER_ERRORS} } }`,
    variables: () => ({}),
  }),
  operation({
    method: 'GET',
    path: '/v1/stripe/webhook-health',
    summary: 'Recent Stripe webhook delivery and replay health: received, processed, ignored, failed and replayed events over 1 h, 24 h and 7 d.',
    tag: opsTag,
    operation: `{ stripeWebhookHealth { ${snakeFields('configured lastEventAt lastFailureAt')} windows { window since received processed ignored failed replayed } } }`,
    variables: () => ({}),
  }),
  operation({
    method: 'GET',
    path: '/v1/stripe/webhook-failures',
    summary: 'Failed Stripe webhook rows for triage, newest first (cursor pagination).',
    tag: opsTag,
    query: pageQuery,
    operation: `query($first: Int, $after: String) { stripeWebhookFailures(first: $first, after: $after) { edges { node { ${WEBHOOK_EVENT} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => pageVariables(query),
    shape: { page: 'failures' },
  }),
  handler({
    method: 'POST',
    path: '/v1/stripe/webhooks',
    summary: 'Inbound Stripe events (set this URL as the Stripe webhook endpoint). Signature-verified with STRIPE_WEBHOOK_SECRET; each event id is applied once.',
    tag: opsTag,
    auth: PUBLIC,
    errors: [503],
    example: { body: { id: 'evt_1Example', object: 'event', type: 'payment_intent.succeeded', data: { object: {} } } },
    response: z.object({
      received: z.literal(true),
      event_id: z.string(),
      type: z.string(),
      status: z.enum(['processed', 'ignored', 'failed']),
      replayed: z.boolean(),
      error_code: z.string().nullable(),
    }),
    handle: async (_input, { runtime, requestId, request }) => {
      const receipt = await receiveStripeWebhook(runtime, requestId, requestState(request).rawBody ?? new Uint8Array(), request.headers.get('stripe-signature'));
      return jsonResponse({ received: true, event_id: receipt.eventId, type: receipt.type, status: receipt.status, replayed: receipt.replayed, error_code: receipt.errorCode });
    },
  }),
];
