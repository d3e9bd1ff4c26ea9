import { GraphQLError } from 'graphql';
import { hasErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';

/**
 * Yoga's maskError: an error that carries a code (DomainError, or a GraphQLError that located
 * one and copied its extensions) passes unchanged; anything else is logged and becomes an opaque
 * INTERNAL_ERROR. Returning the same object keeps Yoga from logging expected errors.
 */
export function createMaskError(log: Logger) {
  return (error: unknown): Error => {
    if (hasErrorCode(error)) return error;
    const original = (error as { originalError?: unknown }).originalError;
    if (hasErrorCode(original)) return original;
    // A GraphQL error of the request itself (e.g. a variable that does not coerce) is safe to show.
    if (error instanceof Error && error.name === 'GraphQLError' && !original) return error;
    log.error({ err: original ?? error }, 'unexpected error');
    const located = error as { nodes?: never; path?: never };
    return new GraphQLError('Internal server error', {
      nodes: located.nodes,
      path: located.path,
      extensions: { code: 'INTERNAL_ERROR', http: { status: 500 } },
    });
  };
}
