import type { Plugin } from '@envelop/core';
import { getOperationAST, type ExecutionResult } from 'graphql';
import { newId, sha256Hex } from '../crypto/hash.ts';
import type { RequestContext, Runtime } from '../context.ts';
import { DomainError } from '../kernel/errors.ts';
import { requestState } from '../kernel/http/request-state.ts';
import { IDEMPOTENCY_HEADER } from '../kernel/http/headers.ts';
import { secretPaths, withoutPaths } from '../graphql/secrets.ts';
import { inRequestTransaction } from '../db/request-transaction.ts';
import { TRANSACTION_OPTIONS } from '../db.ts';

const TTL_MS = 24 * 3600_000;
const KEY = /^[\x21-\x7e]{1,255}$/;

const errorResult = (error: DomainError): ExecutionResult => ({ errors: [error] });
const inFlight = () =>
  errorResult(new DomainError('idempotency_in_flight', 'A request with this Idempotency-Key is still being processed', { headers: { 'Retry-After': '1' } }));

/** The claim was taken over (its lease ran out while this request still ran): this execution must not commit. */
class ClaimLost extends Error {}

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
 * `Idempotent-Replayed: true` (minus fields marked as one-time secrets, which are never stored); the
 * same key with another body is 422. Database-backed, so every node agrees. Keys live 24 hours.
 *
 * Crash safety: a request claims its key (an `in_flight` row), then runs the whole mutation in one
 * database transaction that also stores the response, so the write and its response commit together
 * or not at all. A retry therefore finds either the stored response (replayed) or no committed write:
 * while the claim is younger than IDEMPOTENCY_LEASE_SECONDS it gets 409 with Retry-After; after that
 * (its owner died) the retry takes the claim over and runs the write once. The response is stored
 * only if this request still holds the claim, so a slow owner and a take-over never both commit.
 * Failures store nothing (their own side effects, such as audit rows, still commit), nor do answers
 * a service marks as not final (a 202/402 funding poll).
 */
export function useIdempotency(runtime: Runtime): Plugin<RequestContext> {
  const leaseMs = runtime.config.IDEMPOTENCY_LEASE_SECONDS * 1000;
  // Expired keys are swept at most once a minute per node, not on every request.
  let nextSweep = 0;
  const sweep = async (now: Date) => {
    if (now.getTime() < nextSweep) return;
    nextSweep = now.getTime() + 60_000;
    await runtime.db.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } });
  };
  return {
    onExecute({ args, executeFn, setExecuteFn, setResultAndStopExecution }) {
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
        const find = () => db.idempotencyRecord.findUnique({ where: { tenantId_credentialId_route_keyHash: scope } });
        let recordId = await claim();
        if (!recordId) {
          let existing = await find();
          if (existing && existing.expiresAt <= now) {
            await db.idempotencyRecord.deleteMany({ where: { id: existing.id, expiresAt: { lte: now } } });
            existing = null;
          }
          // Gone (expired, or its request failed and released it): claim afresh.
          if (!existing) {
            recordId = await claim();
            if (!recordId) existing = await find();
          }
          if (!recordId) {
            if (!existing) return setResultAndStopExecution(inFlight());
            if (existing.requestHash !== requestHash) {
              return setResultAndStopExecution(errorResult(new DomainError('idempotency_key_mismatch', 'This Idempotency-Key was used with a different request')));
            }
            if (existing.status === 'completed') {
              state.responseHeaders.set('Idempotent-Replayed', 'true');
              return setResultAndStopExecution(existing.responseBody as ExecutionResult);
            }
            if (existing.createdAt.getTime() + leaseMs > now.getTime()) return setResultAndStopExecution(inFlight());
            // The owner's lease ran out (its process died, or it is far slower than any write may
            // be): take the claim over. The new id is the new owner; the old owner can no longer
            // store a response, so its transaction rolls back if it ever reaches the end.
            const id = newId('idem');
            const taken = await db.$executeRaw`UPDATE "IdempotencyRecord" SET "id" = ${id}, "createdAt" = ${now}
              WHERE "id" = ${existing.id} AND "status" = 'in_flight' AND "createdAt" = ${existing.createdAt}`;
            if (taken !== 1) return setResultAndStopExecution(inFlight());
            recordId = id;
          }
        }
        const owner = recordId;
        const paths = secretPaths(args.schema, args.document, args.operationName);
        setExecuteFn(async (executeArgs) => {
          try {
            const result = await inRequestTransaction(
              db,
              async (tx) => {
                const outcome = (await executeFn(executeArgs)) as ExecutionResult;
                if (hasFailures(outcome) || state.provisional) {
                  await tx.$executeRaw`DELETE FROM "IdempotencyRecord" WHERE "id" = ${owner}`;
                  return outcome;
                }
                const body = JSON.stringify({ data: withoutPaths(JSON.parse(JSON.stringify(outcome.data ?? null)), paths) });
                const stored = await tx.$executeRaw`UPDATE "IdempotencyRecord" SET "status" = 'completed', "responseBody" = ${body}::jsonb
                  WHERE "id" = ${owner} AND "status" = 'in_flight'`;
                if (stored !== 1) throw new ClaimLost();
                return outcome;
              },
              TRANSACTION_OPTIONS,
            );
            await sweep(runtime.clock.now()).catch(() => undefined);
            return result;
          } catch (error) {
            if (error instanceof ClaimLost) return inFlight();
            // Nothing committed: release the claim so a retry runs at once.
            await db.idempotencyRecord.deleteMany({ where: { id: owner, status: 'in_flight' } }).catch(() => undefined);
            throw error;
          }
        });
      })();
    },
  };
}
