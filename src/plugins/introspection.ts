import type { Plugin } from '@envelop/core';
import { BREAK, Kind, visit, type DocumentNode } from 'graphql';
import type { RequestContext } from '../context.ts';
import { DomainError } from '../kernel/errors.ts';

/** Whether a document asks for the schema (`__schema` or `__type`; `__typename` is not introspection). */
function introspects(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.FIELD]: (node) => {
      if (node.name.value !== '__schema' && node.name.value !== '__type') return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}

/**
 * Production default (docs/ARCHITECTURE.md, "Security model"): the schema is described only to a
 * caller with a credential. An anonymous introspection query is refused with 401 before it runs.
 * Installed when `config.introspection` is `authenticated` (NODE_ENV=production without GRAPHIQL=true).
 */
export function useIntrospectionGate(): Plugin<RequestContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (args.contextValue.principal || !introspects(args.document)) return;
      setResultAndStopExecution({ errors: [new DomainError('unauthenticated', 'Introspection needs a credential in production')] });
    },
  };
}
