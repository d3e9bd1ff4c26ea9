import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { GraphQLError } from 'graphql';
import type { Plugin as EnvelopPlugin } from '@envelop/core';
import { maybeRequestState } from './kernel/http/request-state.ts';
import type { Config } from './config.ts';
import type { RequestContext, Runtime } from './context.ts';
export { createRuntime, type RuntimeOverrides } from './runtime.ts';
import { schema } from './graphql/schema.ts';
import { corsOptions, useHttp } from './plugins/http.ts';
import { useIntrospectionGate } from './plugins/introspection.ts';
import { useAdmission } from './plugins/admission.ts';
import { usePlayground } from './plugins/playground.ts';
import { useCredentials } from './plugins/credentials.ts';
import { useSupportSessions } from './plugins/support-sessions.ts';
import { useIdempotency } from './plugins/idempotency.ts';
import { useQueryCost } from './plugins/cost.ts';
import { useRateLimits } from './plugins/rate-limits.ts';
import { createMaskError } from './plugins/errors.ts';
import { useOpenTelemetry } from '@envelop/opentelemetry';
import { useRestRouter } from '../rest-compat/router.ts';
import { routes } from '../rest-compat/routes/index.ts';

export type GatewayApp = YogaServerInstance<Record<string, unknown>, RequestContext>;

/**
 * The gateway: one Yoga server. Plugin order is the pipeline order:
 * request state/body → admission → REST router → credentials + tenant check → armor → execute.
 */
export function createApp(runtime: Runtime): GatewayApp {
  const { config, log } = runtime;
  const development = config.NODE_ENV === 'development';
  return createYoga<Record<string, unknown>, RequestContext>({
    schema,
    graphqlEndpoint: '/graphql',
    // The playground is served by src/plugins/playground.ts (no CDN); Yoga's own page stays off.
    graphiql: false,
    cors: corsOptions(config),
    landingPage: false,
    // Yoga answers any URL ending in this path; keep it out of the way of real routes.
    healthCheckEndpoint: '/__yoga/health',
    multipart: false,
    batching: false,
    maskedErrors: { maskError: createMaskError(log) },
    logging: {
      debug: (...args) => log.debug(args.map(String).join(' ')),
      info: (...args) => log.info(args.map(String).join(' ')),
      warn: (...args) => log.warn(args.map(String).join(' ')),
      error: (...args) => log.error(args.map(String).join(' ')),
    },
    plugins: [
      useHttp(config, log, runtime),
      ...(config.graphiql ? [usePlayground('/graphql')] : []),
      useAdmission(config),
      useRestRouter(routes, runtime, schema),
      useCredentials(runtime),
      useSupportSessions(runtime),
      ...(config.introspection === 'public' ? [] : [useIntrospectionGate()]),
      // Cost before rate limits: a document's cost is what the rate limiter charges to the budget.
      useQueryCost(),
      ...(config.RATE_LIMITS === 'on' ? [useRateLimits(runtime)] : []),
      useIdempotency(runtime),
      ...(runtime.tracerProvider ? [useOpenTelemetry({ resolvers: false, variables: false, result: false, document: false }, runtime.tracerProvider, undefined, undefined, 'paybond-gateway')] : []),
      ...[
        maxDepthPlugin({ n: 12, flattenFragments: true, propagateOnRejection: true, onReject: [armorReject] }),
        maxAliasesPlugin({ n: 20, propagateOnRejection: true, onReject: [armorReject] }),
        maxTokensPlugin({ n: 2000, propagateOnRejection: true, onReject: [armorReject] }),
      ].map(forCallerDocuments),
      ...(development ? [] : [blockFieldSuggestionsPlugin()]),
    ],
  });
}

/**
 * Armor guards documents that callers write. The REST routes' documents are fixed in the route
 * table (their snake_case aliases alone exceed the alias limit), so armor skips them.
 */
function forCallerDocuments<T extends EnvelopPlugin>(plugin: T): T {
  const isRoute = (context: unknown) => {
    const request = (context as { request?: Request } | undefined)?.request;
    return Boolean(request && maybeRequestState(request)?.routeTemplate);
  };
  return {
    ...plugin,
    ...(plugin.onParse ? { onParse: (payload: Parameters<NonNullable<T['onParse']>>[0]) => (isRoute(payload.context) ? undefined : plugin.onParse!(payload as never)) } : {}),
    ...(plugin.onValidate
      ? { onValidate: (payload: Parameters<NonNullable<T['onValidate']>>[0]) => (isRoute(payload.context) ? undefined : plugin.onValidate!(payload as never)) }
      : {}),
  };
}

/**
 * Armor rejections get our error code. The status follows GraphQL-over-HTTP like any other
 * request error: 400 for application/graphql-response+json clients, 200 for application/json.
 */
function armorReject(_ctx: unknown, error: GraphQLError) {
  Object.assign(error.extensions, { code: 'QUERY_TOO_COMPLEX', http: { status: 400, spec: true } });
}
