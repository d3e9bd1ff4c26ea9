/**
 * The baseline: the same database work with the same Prisma client, and nothing else — no
 * GraphQL pipeline, no credentials, no signatures, no rate limits, no idempotency.
 *   POST /checkout   the rows an agent checkout writes (intent, two ledger events, two audit rows)
 *   POST /graphql    a plain Yoga schema resolving the rows of the P2 read
 */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createSchema, createYoga } from 'graphql-yoga';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db.ts';
import { createLogger } from '../src/logger.ts';
import { newId } from '../src/crypto/hash.ts';
import { appendLedgerEvent } from '../src/areas/harbor/ledger.ts';
import { loadServerKeys } from '../src/secrets.ts';
import { systemClock } from '../src/clock.ts';
import type { Runtime, ServiceContext } from '../src/context.ts';

const config = loadConfig();
const log = createLogger('warn');
const { db } = await openDatabase(config, log);
const tenantId = process.env.BENCH_TENANT_ID!;
const keys = await loadServerKeys(config);
// appendLedgerEvent needs a clock and an actor; nothing else of a runtime is used.
const ctx = { runtime: { db, clock: systemClock, keys } as unknown as Runtime, principal: null, requestId: 'baseline' } satisfies ServiceContext;

async function checkout(body: { amount_cents: number; currency: string; recipient: string; memo: string; reference?: string }) {
  const now = new Date();
  return db.$transaction(async (tx) => {
    const intent = await tx.harborIntent.create({
      data: {
        id: newId('int'),
        tenantId,
        intentId: randomUUID(),
        state: 'created',
        principalDid: 'agent:baseline',
        payeeDid: body.recipient,
        amountCents: body.amount_cents,
        currency: body.currency,
        settlementRail: 'stripe_connect',
        settlementMode: 'simulated',
        deadline: new Date(now.getTime() + 7 * 86_400_000),
        budget: { max: body.amount_cents, memo: body.memo, reference: body.reference ?? null },
        evidenceSchema: {},
        predicate: { version: 1, root: { op: 'true' } },
        allowedTools: ['*'],
        source: 'baseline',
        createdAt: now,
        updatedAt: now,
      },
    });
    for (const type of ['intent.created', 'funding.succeeded']) {
      await appendLedgerEvent(tx, ctx, { tenantId, intentId: intent.intentId, type, amountCents: intent.amountCents, currency: intent.currency, payload: {} });
      await tx.auditEvent.create({ data: { id: newId('aud'), tenantId, eventType: `harbor.${type}`, resource: 'harbor_intent', resourceId: intent.intentId, decision: 'allowed', actorType: 'baseline', details: {} } });
    }
    await tx.harborIntent.updateMany({ where: { id: intent.id, state: 'created' }, data: { state: 'funded', updatedAt: now } });
    return { ...intent, state: 'funded' };
  });
}

const yoga = createYoga({
  logging: false,
  graphiql: false,
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type Organization { name: String! }
      type Viewer { tenantId: String! environment: String! organization: Organization! }
      type Intent { intentId: String! state: String! amountCents: Int! currency: String! createdAt: String! }
      type Query { viewer: Viewer! intents(first: Int!): [Intent!]! }
    `,
    resolvers: {
      Query: {
        viewer: async () => {
          const tenant = await db.tenant.findUniqueOrThrow({ where: { id: tenantId }, include: { organization: true } });
          return { tenantId: tenant.id, environment: tenant.environment, organization: tenant.organization };
        },
        intents: (_: unknown, args: { first: number }) =>
          db.harborIntent.findMany({ where: { tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: args.first }),
      },
      Intent: { createdAt: (i: { createdAt: Date }) => i.createdAt.toISOString() },
    },
  }),
});

const server = createServer(async (req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200).end('{"status":"ok"}');
    return;
  }
  if (req.url === '/checkout' && req.method === 'POST') {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const intent = await checkout(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ intent_id: intent.intentId, state: intent.state }));
    return;
  }
  return yoga(req, res);
});
server.listen(config.PORT, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
