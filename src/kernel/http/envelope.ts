import { statusOf } from '../errors.ts';

/** The REST error body: `{"error":{"code","message","request_id","details"?}}`. */
export function errorResponse(
  code: string,
  message: string,
  requestId: string,
  options: { status?: number; details?: unknown; headers?: Record<string, string> } = {},
): Response {
  const body: Record<string, unknown> = { code, message, request_id: requestId };
  if (options.details !== undefined) body.details = options.details;
  const status = options.status ?? statusOf(code);
  // Unavailable is temporary: say when to come back (clients such as the Paybond SDK honour it).
  const retry: Record<string, string> = status === 503 && !Object.keys(options.headers ?? {}).some((h) => h.toLowerCase() === 'retry-after') ? { 'Retry-After': '5' } : {};
  return new Response(JSON.stringify({ error: body }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...retry, ...options.headers },
  });
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}
