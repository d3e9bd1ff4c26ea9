import type { z } from 'zod';
import type { RequestContext } from '../src/context.ts';
import type { FieldPolicy } from '../src/kernel/policy.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RestInput {
  params: Record<string, string>;
  /** Query parameters, validated and coerced by the route's `query` schema. */
  query: Record<string, unknown>;
  /** The JSON body with its keys in camelCase (validated by the route's `body` schema; `{}` when empty). */
  body: Record<string, unknown>;
  /** Routes that take a file upload: the raw body as UTF-8 text (`''` when empty). */
  upload?: string;
  headers: Headers;
}

interface RouteBase {
  method: HttpMethod;
  /** Path template with `{name}` parameters, exactly as the Paybond Gateway API reference writes it. */
  path: string;
  summary: string;
  tag: string;
  /**
   * The request body: the domain's camelCase zod input (the same declaration the GraphQL input type
   * is generated from). REST clients send its keys in snake_case; the router maps them, validates,
   * and reports errors with the snake_case field names.
   */
  body?: z.ZodObject;
  /** Query parameters (REST names), validated before anything runs. */
  query?: z.ZodObject;
  /** The body is a file of this media type (e.g. a JSONL verifier pack), not JSON: it reaches the route as `upload`. */
  upload?: string;
  /** Statuses other than the success status(es) and the policy's own (401/403/429) that this route documents. */
  errors?: number[];
  /** A valid request (OpenAPI example; the generated security tests send it). */
  example?: { params?: Record<string, string>; body?: Record<string, unknown>; query?: Record<string, string> };
}

/**
 * Payload → REST body, declaratively, so the response schema is derived from the same declaration
 * (rest-compat/response.ts). Applied in this order: page, pick, spread, wrap, constants, omit, omitNull.
 */
export interface Shape {
  /** A connection: `{ <page>: [nodes], next_cursor, …other selected connection fields }`. */
  page?: string;
  /** The body is this payload field (an object). */
  pick?: string;
  /** These object fields' keys are lifted into the body (and the fields themselves removed). */
  spread?: string[];
  /** The body is `{ <wrap>: payload }` (a root field that returns a list). */
  wrap?: string;
  /** Keys with fixed values added to the body. */
  constants?: Record<string, string | number | boolean>;
  /** Keys removed from the body (selected only to choose the status). */
  omit?: string[];
  /** Keys removed when null (optional in the response schema). */
  omitNull?: string[];
}

/** A route that runs one GraphQL operation through the shared pipeline. */
export interface OperationRoute extends RouteBase {
  kind: 'operation';
  /** GraphQL document with one root field; aliases give REST names (snake_case). */
  operation: string;
  variables: (input: RestInput) => Record<string, unknown>;
  shape?: Shape;
  /** Success status: fixed, or chosen by an enum field of the payload. */
  status?: number | { field: string; statuses: Record<string, number> };
}

/** A route answered by a handler (discovery documents, health, byte streams). */
export interface HandlerRoute extends RouteBase {
  kind: 'handler';
  /** Who may call it (operation routes take this from their GraphQL field). */
  auth: FieldPolicy;
  /** Success body, for OpenAPI and the contract tests. */
  response: z.ZodType;
  /** Content type of the success body (default JSON). */
  contentType?: string;
  /** Success statuses (default [200]); a 3xx is a redirect: a Location header and no body. */
  successStatuses?: number[];
  /**
   * The route authenticates with its own credential (a download token as ?token= or Bearer, the
   * METRICS_TOKEN), so the router does not resolve Authorization as a gateway credential; `auth`
   * is then PUBLIC.
   */
  ownCredential?: boolean;
  handle: (input: RestInput, ctx: Pick<RequestContext, 'runtime' | 'requestId' | 'principal'> & { request: Request }) => Promise<Response>;
}

export type RestRoute = OperationRoute | HandlerRoute;

/** `apiKeyId createdAt` → `api_key_id: apiKeyId created_at: createdAt`: REST names via aliases. */
export function snakeFields(fields: string): string {
  return fields
    .trim()
    .split(/\s+/)
    .map((f) => {
      const snake = toSnake(f);
      return snake === f ? f : `${snake}: ${f}`;
    })
    .join(' ');
}

export const toSnake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const toCamel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export const operation = (route: Omit<OperationRoute, 'kind'>): OperationRoute => ({ kind: 'operation', ...route });
export const handler = (route: Omit<HandlerRoute, 'kind'>): HandlerRoute => ({ kind: 'handler', ...route });
