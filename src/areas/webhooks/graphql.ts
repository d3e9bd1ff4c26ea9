import { z } from 'zod';
import type { WebhookDelivery, WebhookEndpoint } from '../../generated/prisma/client.ts';
import { builder } from '../../graphql/builder.ts';
import { authed, connectionArgs, ONE_TIME_SECRET, policy, principalOf, rawId, userErrorsField, withUserErrors, type UserErrorShape } from '../../graphql/common.ts';
import { enumFromZod, inputFromZod } from '../../graphql/inputs.ts';
import { HUMAN_ADMIN, PUBLIC } from '../../kernel/policy.ts';
import { catalogJson } from './catalog.ts';
import {
  attemptStatus,
  createEndpoint,
  deleteEndpoint,
  endpointCreateInput,
  endpointStatus,
  endpointUpdateInput,
  findEndpoint,
  redeliver,
  rotateEndpointSecret,
  secretRotateInput,
  sendTestEvent,
  statusOf,
  updateEndpoint,
  type TestEventResult,
} from './endpoints.ts';

import './limits.ts';
import './outbox.ts';
import './worker.ts';

export const AREA = 'webhooks' as const;

const ADMIN_READ = HUMAN_ADMIN;
const ADMIN_WRITE = { ...HUMAN_ADMIN, rateLimit: 'admin_webhook_endpoint_mutation' } as const;
const ADMIN_TEST = { ...HUMAN_ADMIN, rateLimit: 'admin_webhook_endpoint_test' } as const;

const EndpointStatusEnum = enumFromZod(endpointStatus);
const AttemptStatusEnum = enumFromZod(attemptStatus);

const WebhookEndpointType = builder.prismaNode('WebhookEndpoint', {
  description: 'Where the tenant receives webhook events; its signing secret is shown only when created or rotated.',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    endpointId: t.exposeString('id', { description: 'Endpoint id (whe_…).' }),
    url: t.exposeString('url', { description: 'Where events are POSTed.' }),
    description: t.exposeString('description', { nullable: true, description: 'A note for people.' }),
    eventTypes: t.exposeStringList('eventTypes', { description: 'Event types it receives; empty: every type.' }),
    status: t.field({ type: EndpointStatusEnum, description: 'active, failing or disabled.', resolve: (e) => statusOf(e) }),
    disabledReason: t.exposeString('disabledReason', { nullable: true, description: 'gone (the receiver answered 410) or admin; null while enabled.' }),
    secretHint: t.exposeString('secretHint', { description: 'Last four characters of the current signing secret.' }),
    secretRotatedAt: t.expose('secretRotatedAt', { type: 'DateTime', nullable: true, description: 'When the secret was last rotated.' }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Until when the previous secret also signs (rotation overlap); null when only one secret signs.',
      resolve: (e, _a, ctx) => (e.previousSecretSealed && e.previousSecretExpiresAt && e.previousSecretExpiresAt > ctx.runtime.clock.now() ? e.previousSecretExpiresAt : null),
    }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { description: 'Failed attempts in a row (0 after a success).' }),
    failingSince: t.expose('failingSince', { type: 'DateTime', nullable: true, description: 'When it was marked failing.' }),
    lastSuccessAt: t.expose('lastSuccessAt', { type: 'DateTime', nullable: true, description: 'Latest delivered attempt.' }),
    lastFailureAt: t.expose('lastFailureAt', { type: 'DateTime', nullable: true, description: 'Latest failed attempt.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it was last changed.' }),
  }),
});

builder.prismaNode('WebhookAttempt', {
  description: 'One attempt to deliver an event to an endpoint.',
  id: { field: 'id' },
  nullable: true,
  findUnique: (id, ctx) => ({ id, tenantId: ctx.principal?.tenantId ?? '' }),
  fields: (t) => ({
    attemptId: t.exposeString('id', { description: 'Attempt id (wha_…).' }),
    deliveryId: t.exposeString('deliveryId', { description: 'The delivery (one event for this endpoint) it belongs to; redeliver by this id.' }),
    eventId: t.exposeString('eventId', { description: 'The event id, also the webhook-id header.' }),
    eventType: t.exposeString('eventType', { description: 'The event type.' }),
    attempt: t.exposeInt('attempt', { description: 'Attempt number of the delivery (1 = first).' }),
    status: t.field({ type: AttemptStatusEnum, description: 'delivered or failed.', resolve: (a) => a.status as z.infer<typeof attemptStatus> }),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: 'HTTP status of the answer; null when none arrived.' }),
    latencyMs: t.exposeInt('latencyMs', { description: 'Duration of the attempt in milliseconds.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed (http_status, timeout, connection_refused, address_not_allowed, redirect_not_followed, endpoint_gone…); null when delivered.' }),
    responseExcerpt: t.exposeString('responseExcerpt', { nullable: true, description: 'Start of the answer body (at most 1 KiB).' }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'When the next attempt was scheduled; null when none follows.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the attempt was made.' }),
  }),
});

const WebhookDeliveryType = builder.objectRef<WebhookDelivery>('WebhookDelivery').implement({
  description: 'One event for one endpoint: retried until delivered, given up, or canceled.',
  fields: (t) => ({
    deliveryId: t.exposeString('id', { description: 'Delivery id (whd_…).' }),
    endpointId: t.exposeString('endpointId', { description: 'The endpoint.' }),
    eventId: t.exposeString('eventId', { description: 'The event id, also the webhook-id header.' }),
    eventType: t.exposeString('eventType', { description: 'The event type.' }),
    status: t.exposeString('status', { description: 'pending, delivered, failed (every attempt failed) or canceled (endpoint disabled).' }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made so far.' }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'When the next attempt is due.' }),
  }),
});

interface EventTypeView {
  type: string;
  group: string;
  title: string;
  description: string;
  status: string;
  data_schema: unknown;
  example: unknown;
}

const EventTypeType = builder.objectRef<EventTypeView>('WebhookEventType').implement({
  description: 'A webhook event type of the catalogue.',
  fields: (t) => ({
    type: t.exposeString('type', { description: 'The type, e.g. intent.funded.' }),
    group: t.exposeString('group', { description: 'What it is about.' }),
    title: t.exposeString('title', { description: 'Short name.' }),
    description: t.exposeString('description', { description: 'When it is sent.' }),
    status: t.exposeString('status', { description: 'stable, or placeholder (reserved; its data is not final).' }),
    dataSchema: t.field({ type: 'JSON', description: 'JSON Schema (2020-12) of the event data.', resolve: (e) => e.data_schema }),
    example: t.field({ type: 'JSON', description: 'An example event, as a receiver gets it.', resolve: (e) => e.example }),
  }),
});

type Payload<T> = Partial<T> & { userErrors: UserErrorShape[] };

const EndpointPayload = builder.objectRef<Payload<{ endpoint: WebhookEndpoint }>>('WebhookEndpointPayload').implement({
  description: 'The endpoint after the change.',
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpointType, nullable: true, description: 'The endpoint.', resolve: (p) => p.endpoint ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const EndpointSecretPayload = builder.objectRef<Payload<{ endpoint: WebhookEndpoint; secret: string }>>('WebhookEndpointSecretPayload').implement({
  description: 'The endpoint and its new signing secret, shown this once.',
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpointType, nullable: true, description: 'The endpoint.', resolve: (p) => p.endpoint ?? null }),
    secret: t.string({ ...ONE_TIME_SECRET, nullable: true, description: 'The signing secret (whsec_…, Standard Webhooks); never shown again.', resolve: (p) => p.secret ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const TestPayload = builder.objectRef<Payload<TestEventResult>>('WebhookTestPayload').implement({
  description: 'The queued test event.',
  fields: (t) => ({
    eventId: t.string({ nullable: true, description: 'The test event id (webhook-id).', resolve: (p) => p.eventId ?? null }),
    deliveryId: t.string({ nullable: true, description: 'Its delivery to this endpoint (see the deliveries list).', resolve: (p) => p.deliveryId ?? null }),
    simulated: t.boolean({ description: 'Sandbox: a simulator rehearsal (ledger and audit rows) was recorded with it.', resolve: (p) => Boolean(p.simulatorEvent) }),
    simulatorEventId: t.string({ nullable: true, description: 'Sandbox: the simulator event recorded.', resolve: (p) => p.simulatorEvent?.id ?? null }),
    simulatorIdempotencyKey: t.string({ nullable: true, description: 'Sandbox: the rehearsal’s deterministic key.', resolve: (p) => p.simulatorEvent?.idempotencyKey ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const DeliveryPayload = builder.objectRef<Payload<{ delivery: WebhookDelivery }>>('WebhookRedeliverPayload').implement({
  description: 'The delivery, queued again.',
  fields: (t) => ({
    delivery: t.field({ type: WebhookDeliveryType, nullable: true, description: 'The delivery.', resolve: (p) => p.delivery ?? null }),
    userErrors: userErrorsField(t),
  }),
});

const CreateInput = inputFromZod('WebhookEndpointCreateInput', endpointCreateInput, 'A new webhook endpoint.');
const UpdateInput = inputFromZod('WebhookEndpointUpdateInput', endpointUpdateInput, 'Changes to a webhook endpoint (absent fields stay).');
const RotateInput = inputFromZod('WebhookSecretRotateInput', secretRotateInput, 'Options of a secret rotation.');

builder.queryFields((t) => ({
  webhookEndpoints: t.prismaConnection(
    {
      ...policy(ADMIN_READ),
      type: 'WebhookEndpoint',
      cursor: 'id',
      description: 'The tenant’s webhook endpoints (this environment’s tenant), newest first.',
      validate: connectionArgs,
      resolve: (query, _r, _a, ctx) =>
        ctx.runtime.db.webhookEndpoint.findMany({ ...query, where: { tenantId: principalOf(ctx).tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    { name: 'WebhookEndpointConnection', description: 'A page of webhook endpoints.' },
    { name: 'WebhookEndpointEdge', description: 'A webhook endpoint in a page.' },
  ),
  webhookEndpoint: t.field({
    ...policy(ADMIN_READ),
    type: WebhookEndpointType,
    description: 'One webhook endpoint of the tenant.',
    args: { id: t.arg.id({ required: true, description: 'Endpoint id or GraphQL id.' }) },
    resolve: (_r, { id }, ctx) => findEndpoint(ctx.runtime.db, principalOf(ctx), rawId(String(id), 'WebhookEndpoint')),
  }),
  webhookDeliveries: t.prismaConnection(
    {
      ...policy(ADMIN_READ),
      type: 'WebhookAttempt',
      cursor: 'id',
      description: 'Recent delivery attempts to one endpoint, newest first.',
      args: {
        endpointId: t.arg.id({ required: true, description: 'Endpoint id or GraphQL id.' }),
        status: t.arg({ type: AttemptStatusEnum, required: false, description: 'Only attempts that ended so.' }),
      },
      validate: connectionArgs.extend({ endpointId: z.string().min(1).max(200), status: attemptStatus.nullish() }),
      resolve: async (query, _r, args, ctx) => {
        const endpoint = await findEndpoint(ctx.runtime.db, principalOf(ctx), rawId(String(args.endpointId), 'WebhookEndpoint'));
        return ctx.runtime.db.webhookAttempt.findMany({
          ...query,
          where: { endpointId: endpoint.id, tenantId: endpoint.tenantId, ...(args.status ? { status: args.status } : {}) },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
      },
    },
    { name: 'WebhookAttemptConnection', description: 'A page of delivery attempts.' },
    { name: 'WebhookAttemptEdge', description: 'A delivery attempt in a page.' },
  ),
  webhookEventTypes: t.field({
    ...policy(PUBLIC),
    type: [EventTypeType],
    description: 'The webhook event catalogue: every type with the JSON Schema of its data and an example.',
    resolve: () => catalogJson() as EventTypeView[],
  }),
}));

builder.mutationFields((t) => ({
  webhookEndpointCreate: t.field({
    ...policy(ADMIN_WRITE),
    type: EndpointSecretPayload,
    description: 'Create a webhook endpoint; its signing secret is returned this once (audited).',
    args: { input: t.arg({ type: CreateInput, required: true, description: 'The endpoint.' }) },
    resolve: (_r, { input }, ctx) => withUserErrors(() => createEndpoint(authed(ctx), input)),
  }),
  webhookEndpointUpdate: t.field({
    ...policy(ADMIN_WRITE),
    type: EndpointPayload,
    description: 'Change an endpoint’s URL, description, event types, or enable / disable it (audited).',
    args: {
      id: t.arg.id({ required: true, description: 'Endpoint id or GraphQL id.' }),
      input: t.arg({ type: UpdateInput, required: true, description: 'The changes.' }),
    },
    resolve: (_r, { id, input }, ctx) => withUserErrors(async () => ({ endpoint: await updateEndpoint(authed(ctx), rawId(String(id), 'WebhookEndpoint'), input) })),
  }),
  webhookEndpointDelete: t.field({
    ...policy(ADMIN_WRITE),
    type: EndpointPayload,
    description: 'Delete an endpoint with its deliveries (audited).',
    args: { id: t.arg.id({ required: true, description: 'Endpoint id or GraphQL id.' }) },
    resolve: (_r, { id }, ctx) => withUserErrors(async () => ({ endpoint: await deleteEndpoint(authed(ctx), rawId(String(id), 'WebhookEndpoint')) })),
  }),
  webhookEndpointSecretRotate: t.field({
    ...policy(ADMIN_WRITE),
    type: EndpointSecretPayload,
    description: 'Replace the signing secret; the previous one keeps signing beside it for the overlap. The new secret is returned this once.',
    args: {
      id: t.arg.id({ required: true, description: 'Endpoint id or GraphQL id.' }),
      input: t.arg({ type: RotateInput, required: false, description: 'The overlap.' }),
    },
    resolve: (_r, { id, input }, ctx) => withUserErrors(() => rotateEndpointSecret(authed(ctx), rawId(String(id), 'WebhookEndpoint'), input ?? {})),
  }),
  webhookEndpointTest: t.field({
    ...policy(ADMIN_TEST),
    type: TestPayload,
    description: 'Queue a signed webhook.test event for the endpoint; in sandbox it also records a simulator rehearsal (ledger and audit rows).',
    args: { id: t.arg.id({ required: true, description: 'Endpoint id or GraphQL id.' }) },
    resolve: (_r, { id }, ctx) => withUserErrors(() => sendTestEvent(authed(ctx), rawId(String(id), 'WebhookEndpoint'))),
  }),
  webhookDeliveryRedeliver: t.field({
    ...policy(ADMIN_WRITE),
    type: DeliveryPayload,
    description: 'Send a delivery again now, with the same webhook-id; its retry schedule starts over (audited).',
    args: {
      endpointId: t.arg.id({ required: true, description: 'Endpoint id or GraphQL id.' }),
      deliveryId: t.arg.id({ required: true, description: 'Delivery id (whd_…).' }),
    },
    resolve: (_r, { endpointId, deliveryId }, ctx) =>
      withUserErrors(async () => ({ delivery: await redeliver(authed(ctx), rawId(String(endpointId), 'WebhookEndpoint'), String(deliveryId)) })),
  }),
}));
