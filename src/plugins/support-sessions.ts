import { getOperationAST, Kind, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import type { RequestContext, Runtime } from '../context.ts';
import { DomainError } from '../kernel/errors.ts';
import { maybeRequestState } from '../kernel/http/request-state.ts';
import { recordSupportRequest, supportMayRun } from '../areas/sso/support.ts';

export const SUPPORT_SESSION_HEADER = 'x-paybond-support-session';

function rootFields(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): string[] {
  return selectionSet.selections.flatMap((s) => {
    if (s.kind === Kind.FIELD) return s.name.value === '__typename' ? [] : [s.name.value];
    if (s.kind === Kind.INLINE_FRAGMENT) return rootFields(s.selectionSet, fragments, seen);
    if (seen.has(s.name.value)) return [];
    seen.add(s.name.value);
    const fragment = fragments.get(s.name.value);
    return fragment ? rootFields(fragment.selectionSet, fragments, seen) : [];
  });
}

/**
 * Support sessions (src/areas/sso/support.ts): a support token reads; it runs only the mutations
 * its permissions name (anything else: 403 support_session_read_only, so it can never create API
 * keys, PATs, support sessions, SSO changes, switch environment or refresh). Every request made
 * with it, allowed or not, is audited with its method, route and status, and its response
 * carries `x-paybond-support-session`.
 */
export function useSupportSessions(runtime: Runtime): YogaPlugin<RequestContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const principal = (args.contextValue as RequestContext).principal;
      if (!principal?.support) return;
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation || operation.operation === 'query') return;
      const fragments = new Map<string, FragmentDefinitionNode>();
      for (const d of args.document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
      const refused = rootFields(operation.selectionSet, fragments).filter((f) => !supportMayRun(principal.support!.permissions, f));
      if (operation.operation !== 'mutation' || refused.length) {
        setResultAndStopExecution({
          errors: [new DomainError('support_session_read_only', 'This support session may not make this change', { details: { permissions: principal.support.permissions } })],
        });
      }
    },
    async onResponse({ request, response }) {
      const state = maybeRequestState(request);
      const principal = state?.caller?.principal;
      if (!state || !principal?.support) return;
      response.headers.set(SUPPORT_SESSION_HEADER, principal.support.sessionId);
      const url = new URL(request.url);
      const route = state.routeTemplate ?? (url.pathname === '/graphql' ? `graphql ${state.operation ?? 'anonymous'}` : 'unmatched');
      try {
        await recordSupportRequest({ runtime, principal, requestId: state.requestId }, principal, { method: request.method, route, status: response.status });
      } catch (error) {
        runtime.log.error({ err: error, request_id: state.requestId }, 'auditing a support-session request failed');
      }
    },
  };
}
