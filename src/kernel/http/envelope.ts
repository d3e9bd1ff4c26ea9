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
  return new Response(JSON.stringify({ error: body }), {
    status: options.status ?? statusOf(code),
    headers: { 'content-type': 'application/json; charset=utf-8', ...options.headers },
  });
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}
