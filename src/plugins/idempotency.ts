import type { Plugin } from '@envelop/core';
import { getOperationAST, type ExecutionResult } from 'graphql';
import { newId, sha256Hex } from '../crypto/hash.ts';
import type { RequestContext, Runtime } from '../context.ts';
import { DomainError } from '../kernel/errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { requestState } from '../kernel/http/request-state.ts';
import { IDEMPOTENCY_HEADER } from '../kernel/http/headers.ts';
import { secretPaths, withoutPaths } from '../graphql/secrets.ts';

const TTL_MS = 24 * 3600_000;
const KEY = /^[\x21-\x7e]{1,255}$/;

const errorResult = (error: DomainError): ExecutionResult => ({ errors: [error] });

function hasFailures(result: ExecutionResult): boolean {
  if (result.errors?.length) return true;
  return Object.values(result.data ?? {}).some((payload) => {
    const errors = (payload as { userErrors?: unknown[] } | null)?.userErrors;
    return payload === null || (Array.isArray(errors) && errors.length > 0);
  });
}

/**
 * Idempotency-Key on every authenticated mutation POST (REST routes run as mutations too).
 * Scoped per tenant + credential + route; the first completed result is stored and replayed with
 * `Idempotent-Replayed: true` (minus fields marked as one-time secrets, which are never stored); the same key with another body is 422; while the first is still
 * running, 409 with Retry-After. Failures store nothing, nor do answers a service marks as not
 * final (a 202/402 funding poll). Database-backed, so every node agrees. Keys live 24 hours.
 */
export function useIdempotency(runtime: Runtime): Plugin<RequestContext> {
  // Expired keys are swept at most once a minute per node, not on every request.
  let nextSweep = 0;
  const sweep = async (now: Date) => {
    if (now.getTime() < nextSweep) return;
    nextSweep = now.getTime() + 60_000;
    await runtime.db.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } });
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue;
      const key = ctx.request.headers.get(IDEMPOTENCY_HEADER)?.trim();
      if (key === undefined || ctx.request.method !== 'POST' || !ctx.principal) return;
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      if (!KEY.test(key)) {
        setResultAndStopExecution(errorResult(new DomainError('invalid_request', 'Idempotency-Key must be 1–255 visible ASCII characters')));
        return;
      }
      const state = requestState(ctx.request);
      const url = new URL(ctx.request.url);
      const scope = {
        tenantId: ctx.principal.tenantId,
        credentialId: ctx.principal.subjectId,
        route: `${ctx.request.method} ${state.routeTemplate ?? url.pathname}`,
        keyHash: sha256Hex(key),
      };
      const requestHash = sha256Hex(`${ctx.request.method}\n${url.pathname}\n${sha256Hex(state.rawBody ?? new Uint8Array())}`);
      const db = runtime.db;
      let recordId: string | undefined;
      return (async () => {
        const now = runtime.clock.now();
        // The common case is a new key: claim it first, read only when it is taken.
        const claim = async () => {
          const id = newId('idem');
          const inserted = await db.$executeRaw`INSERT INTO "IdempotencyRecord" ("id", "tenantId", "credentialId", "route", "keyHash", "requestHash", "status", "createdAt", "expiresAt")
            VALUES (${id}, ${scope.tenantId}, ${scope.credentialId}, ${scope.route}, ${scope.keyHash}, ${requestHash}, 'in_flight', ${now}, ${new Date(now.getTime() + TTL_MS)})
            ON CONFLICT DO NOTHING`;
          return inserted === 1 ? id : undefined;
        };
        recordId = await claim();
        if (recordId) return;
        let existing = await db.idempotencyRecord.findUnique({ where: { tenantId_credentialId_route_keyHash: scope } });
        if (existing && existing.expiresAt <= now) {
          await db.idempotencyRecord.deleteMany({ where: { id: existing.id, expiresAt: { lte: now } } });
          recordId = await claim();
          if (recordId) return;
          existing = await db.idempotencyRecord.findUnique({ where: { tenantId_credentialId_route_keyHash: scope } });
        }
        if (!existing) return;
        if (existing.requestHash !== requestHash) {
          setResultAndStopExecution(errorResult(new DomainError('idempotency_key_mismatch', 'This Idempotency-Key was used with a different request')));
        } else if (existing.status !== 'completed') {
          setResultAndStopExecution(
            errorResult(new DomainError('idempotency_in_flight', 'A request with this Idempotency-Key is still being processed', { headers: { 'Retry-After': '1' } })),
          );
        } else {
          state.responseHeaders.set('Idempotent-Replayed', 'true');
          setResultAndStopExecution(existing.responseBody as ExecutionResult);
        }
      })().then(() =>
        recordId === undefined
          ? undefined
          : {
              onExecuteDone: async ({ result }: { result: unknown }) => {
                const outcome = result as ExecutionResult;
                if (hasFailures(outcome) || state.provisional) {
                  await db.idempotencyRecord.deleteMany({ where: { id: recordId } });
                  return;
                }
                await db.idempotencyRecord.update({
                  where: { id: recordId },
                  data: { status: 'completed', responseBody: { data: withoutPaths(JSON.parse(JSON.stringify(outcome.data ?? null)), secretPaths(args.schema, args.document, args.operationName)) } as Prisma.InputJsonValue },
                });
                await sweep(runtime.clock.now());
              },
            },
      );
    },
  };
}
