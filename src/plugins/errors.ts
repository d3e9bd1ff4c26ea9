import { GraphQLError } from 'graphql';
import { hasErrorCode } from '../kernel/errors.ts';
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
    // An error of the request itself (a variable that does not coerce: no field path, nothing
    // unexpected underneath) is the caller's mistake: safe to show, as a 400.
    if (isGraphQLErrorLike(error) && !error.path && (!original || isGraphQLErrorLike(original))) {
      Object.assign(error.extensions, { code: 'INVALID_REQUEST', http: { status: 400, spec: true } });
      return error;
    }
    // Pothos rejects what the caller sent (a malformed cursor or global ID) with its own error class.
    if (original instanceof Error && original.name === 'PothosValidationError') {
      // The same object, amended (a new one would make Yoga log the caller's mistake as an error).
      const located = error as GraphQLError & { message: string };
      if (located.message.length > 200) located.message = `${located.message.slice(0, 200)}…`;
      Object.assign(located.extensions, { code: 'INVALID_REQUEST', http: { status: 400 } });
      return located;
    }
    log.error({ err: original ?? error }, 'unexpected error');
    const located = error as { nodes?: never; path?: never };
    return new GraphQLError('Internal server error', {
      nodes: located.nodes,
      path: located.path,
      extensions: { code: 'INTERNAL_ERROR', http: { status: 500 } },
    });
  };
}

const isGraphQLErrorLike = (error: unknown): error is GraphQLError =>
  error instanceof Error && error.name === 'GraphQLError' && typeof (error as GraphQLError).extensions === 'object';
