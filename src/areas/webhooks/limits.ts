import { defineRouteGroups } from '../../kernel/limits/groups.ts';

/**
 * Webhook route groups (the Paybond Gateway API reference names both as overridable limiter
 * scopes). Endpoint changes (create, update, delete, rotate, redeliver) are rare admin actions;
 * test events make the gateway call a tenant-chosen URL, so they are limited on their own.
 */
export const webhookRouteGroups = defineRouteGroups({
  admin_webhook_endpoint_mutation: { limit: 30, windowSeconds: 3600 },
  admin_webhook_endpoint_test: { limit: 30, windowSeconds: 3600 },
});

type WebhookRouteGroups = typeof webhookRouteGroups;
declare module '../../kernel/limits/groups.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface RouteGroups extends WebhookRouteGroups {}
}
