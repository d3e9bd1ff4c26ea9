import type { z } from 'zod';
import type { PrincipalKind, RequestContext } from '../src/context.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Who may call a route. It documents the route (OpenAPI security) and drives the generated
 * security tests; enforcement lives on the GraphQL field the route runs (scope-auth), so REST
 * and GraphQL cannot disagree.
 */
export interface RouteAuth {
  /** No credential needed. */
  public?: boolean;
  /** Credential kinds accepted. */
  principals?: PrincipalKind[];
  /** Needs tenant_admin / tenant.admin (human session). */
  admin?: boolean;
  /** High-risk: an agent JWT bound to a key plus X-Agent-Signature (PATs and unsigned JWTs get 401). */
  signed?: boolean;
  /** Recognition-gated Harbor write: an agent recognition proof, or a signed agent request. */
  recognition?: boolean;
}

export interface RestInput {
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body (`{}` when empty). */
  body: Record<string, unknown>;
  headers: Headers;
}

interface RouteBase {
  method: HttpMethod;
  /** Path template with `{name}` parameters, exactly as the API reference writes it. */
  path: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  /** Request body (snake_case) for validation and OpenAPI. */
  body?: z.ZodType;
  /** Query parameters for validation and OpenAPI. */
  query?: z.ZodObject;
  /** Success body, for OpenAPI and the contract tests. */
  response: z.ZodType;
  /** Statuses other than the success status that this route documents. */
  errors?: number[];
  /** A valid request (OpenAPI example; the generated security tests send it). */
  example?: { params?: Record<string, string>; body?: Record<string, unknown>; query?: Record<string, string> };
}

/** A route that runs one GraphQL operation through the shared pipeline. */
export interface OperationRoute extends RouteBase {
  kind: 'operation';
  /** GraphQL document with one root field; aliases give REST names (snake_case). */
  operation: string;
  variables: (input: RestInput) => Record<string, unknown>;
  /** Payload of the root field → REST body. Defaults to the payload without `userErrors`. */
  result?: (payload: Record<string, unknown>, input: RestInput) => unknown;
  /** Success status; may depend on the payload (e.g. 200/202/402 for funding). */
  status?: number | ((payload: Record<string, unknown>) => number);
}

/** A route answered by a handler (discovery documents, health, byte streams). */
export interface HandlerRoute extends RouteBase {
  kind: 'handler';
  handle: (input: RestInput, ctx: Pick<RequestContext, 'runtime' | 'requestId'> & { request: Request }) => Promise<Response>;
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

/** Top-level snake_case keys → camelCase (nested values, such as free-form JSON, stay as sent). */
export function camelKeys(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [toCamel(k), v]));
}

export const operation = (route: Omit<OperationRoute, 'kind'>): OperationRoute => ({ kind: 'operation', ...route });
export const handler = (route: Omit<HandlerRoute, 'kind'>): HandlerRoute => ({ kind: 'handler', ...route });
