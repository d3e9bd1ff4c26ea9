import { z } from 'zod';
import { renderCatalogMarkdown } from '../../src/areas/webhooks/catalog.ts';
import { attemptStatus, endpointCreateInput, endpointUpdateInput, secretRotateInput } from '../../src/areas/webhooks/endpoints.ts';
import { PUBLIC } from '../../src/kernel/policy.ts';
import { handler, operation, snakeFields, type RestRoute } from '../route.ts';
import { pageQuery, pageVariables } from '../schemas.ts';

const USER_ERRORS = 'userErrors { code message field details }';
const tag = 'Administrative settlement operations';
const ENDPOINTS = '/v1/admin/webhook-endpoints';
const ONE = `${ENDPOINTS}/{endpoint_id}`;

const ENDPOINT = `node_id: id ${snakeFields(
  'endpointId url description eventTypes status disabledReason secretHint secretRotatedAt previousSecretExpiresAt consecutiveFailures failingSince lastSuccessAt lastFailureAt createdAt updatedAt',
)}`;
const ATTEMPT = `node_id: id ${snakeFields('attemptId deliveryId eventId eventType attempt status statusCode latencyMs error responseExcerpt nextAttemptAt createdAt')}`;
const DELIVERY = snakeFields('deliveryId endpointId eventId eventType status attempts nextAttemptAt');
const params = { endpoint_id: 'whe_0123456789abcdef' };

let catalogMarkdown: string | undefined;

export const webhooksRoutes: RestRoute[] = [
  operation({
    method: 'GET',
    path: ENDPOINTS,
    summary: 'List tenant/environment-scoped Paybond webhook endpoints, newest first (cursor pagination). Secrets are never listed.',
    tag,
    query: pageQuery,
    operation: `query($first: Int, $after: String) { webhookEndpoints(first: $first, after: $after) { edges { node { ${ENDPOINT} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ query }) => pageVariables(query),
    shape: { page: 'endpoints' },
  }),
  operation({
    method: 'POST',
    path: ENDPOINTS,
    summary: 'Create a webhook endpoint and return its signing secret (whsec_…, Standard Webhooks) once. URLs that resolve to loopback, private, link-local or metadata addresses are refused.',
    tag,
    body: endpointCreateInput,
    example: { body: { url: 'https://hooks.example.com/paybond', description: 'order service', event_types: ['intent.funded', 'intent.settled'] } },
    status: 201,
    errors: [409, 422],
    operation: `mutation($input: WebhookEndpointCreateInput!) { webhookEndpointCreate(input: $input) { endpoint { ${ENDPOINT} } secret ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { spread: ['endpoint'] },
  }),
  operation({
    method: 'GET',
    path: ONE,
    summary: 'One webhook endpoint, with its status (active, failing or disabled).',
    tag,
    example: { params },
    errors: [404],
    operation: `query($id: ID!) { webhookEndpoint(id: $id) { ${ENDPOINT} } }`,
    variables: ({ params: p }) => ({ id: p.endpoint_id }),
  }),
  operation({
    method: 'PATCH',
    path: ONE,
    summary: 'Change a webhook endpoint: URL (checked again), description, event types, enabled. Disabling cancels its pending deliveries; enabling clears its failure run.',
    tag,
    body: endpointUpdateInput,
    example: { params, body: { enabled: false } },
    errors: [404, 422],
    operation: `mutation($id: ID!, $input: WebhookEndpointUpdateInput!) { webhookEndpointUpdate(id: $id, input: $input) { endpoint { ${ENDPOINT} } ${USER_ERRORS} } }`,
    variables: ({ params: p, body }) => ({ id: p.endpoint_id, input: body }),
    shape: { pick: 'endpoint' },
  }),
  operation({
    method: 'DELETE',
    path: ONE,
    summary: 'Delete a webhook endpoint with its deliveries.',
    tag,
    example: { params },
    errors: [404],
    operation: `mutation($id: ID!) { webhookEndpointDelete(id: $id) { endpoint { ${ENDPOINT} } ${USER_ERRORS} } }`,
    variables: ({ params: p }) => ({ id: p.endpoint_id }),
    shape: { pick: 'endpoint' },
  }),
  operation({
    method: 'POST',
    path: `${ONE}/rotate-secret`,
    summary: 'Rotate the signing secret: the new one is returned once; the previous one keeps signing beside it for overlap_seconds (default one day), so webhook-signature carries both.',
    tag,
    body: secretRotateInput,
    example: { params, body: { overlap_seconds: 3600 } },
    errors: [404],
    operation: `mutation($id: ID!, $input: WebhookSecretRotateInput) { webhookEndpointSecretRotate(id: $id, input: $input) { endpoint { ${ENDPOINT} } secret ${USER_ERRORS} } }`,
    variables: ({ params: p, body }) => ({ id: p.endpoint_id, input: body }),
    shape: { spread: ['endpoint'] },
  }),
  operation({
    method: 'GET',
    path: `${ONE}/deliveries`,
    summary: 'List recent delivery attempts for an endpoint, newest first: status code, latency, error, a capped response excerpt and the next attempt time. Filter with status=delivered|failed.',
    tag,
    query: pageQuery.extend({ status: attemptStatus.optional() }),
    example: { params },
    errors: [404],
    operation: `query($endpointId: ID!, $status: WebhookAttemptStatus, $first: Int, $after: String) { webhookDeliveries(endpointId: $endpointId, status: $status, first: $first, after: $after) { edges { node { ${ATTEMPT} } } pageInfo { hasNextPage endCursor } } }`,
    variables: ({ params: p, query }) => ({ endpointId: p.endpoint_id, status: query.status, ...pageVariables(query) }),
    shape: { page: 'deliveries' },
  }),
  operation({
    method: 'POST',
    path: `${ONE}/test`,
    summary:
      'Send a signed test event (webhook.test) to the endpoint; sandbox lifecycle rehearsals also write simulator ledger/audit rows. Test payload tenant/environment fields are derived from the authenticated credential.',
    tag,
    body: z.object({}),
    example: { params, body: {} },
    status: 202,
    errors: [404, 409],
    operation: `mutation($id: ID!) { webhookEndpointTest(id: $id) { ${snakeFields('eventId deliveryId simulated simulatorEventId simulatorIdempotencyKey')} ${USER_ERRORS} } }`,
    variables: ({ params: p }) => ({ id: p.endpoint_id }),
  }),
  operation({
    method: 'POST',
    path: `${ONE}/deliveries/{delivery_id}/redeliver`,
    summary: 'Send one delivery again now with the same webhook-id; its retry schedule starts over.',
    tag,
    body: z.object({}),
    example: { params: { ...params, delivery_id: 'whd_0123456789abcdef' }, body: {} },
    status: 202,
    errors: [404, 409],
    operation: `mutation($endpointId: ID!, $deliveryId: ID!) { webhookDeliveryRedeliver(endpointId: $endpointId, deliveryId: $deliveryId) { delivery { ${DELIVERY} } ${USER_ERRORS} } }`,
    variables: ({ params: p }) => ({ endpointId: p.endpoint_id, deliveryId: p.delivery_id }),
    shape: { pick: 'delivery' },
  }),
  operation({
    method: 'GET',
    path: '/v1/webhooks/event-types',
    summary: 'The webhook event catalogue: every event type with the JSON Schema (2020-12) of its data and an example event.',
    tag,
    operation: `{ webhookEventTypes { type group title description status data_schema: dataSchema example } }`,
    variables: () => ({}),
    shape: { wrap: 'event_types' },
  }),
  handler({
    method: 'GET',
    path: '/webhooks/events.md',
    summary: 'The webhook guide for receivers: envelope, signature verification, retry schedule and every event type with its schema.',
    tag,
    auth: PUBLIC,
    response: z.string(),
    contentType: 'text/markdown',
    handle: async () =>
      new Response((catalogMarkdown ??= renderCatalogMarkdown()), { status: 200, headers: { 'content-type': 'text/markdown; charset=utf-8', 'cache-control': 'public, max-age=300' } }),
  }),
];
