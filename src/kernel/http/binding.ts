import type { HttpBinding } from '../../context.ts';
import { requestState } from './request-state.ts';

/** The typed HTTP binding of a request (see HttpBinding in src/context.ts). */

export function httpBinding(request: Request): HttpBinding {
  const state = requestState(request);
  const url = new URL(request.url);
  return {
    method: request.method,
    path: url.pathname,
    query: url.search.replace(/^\?/, ''),
    rawBody: state.rawBody,
    headers: request.headers,
    route: state.routeTemplate,
    setResponseHeader: (name, value) => state.responseHeaders.set(name, value),
    appendResponseHeader: (name, value) => state.responseHeaders.append(name, value),
    markProvisional: () => {
      state.provisional = true;
    },
  };
}
