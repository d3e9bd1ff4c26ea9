import { PrismaClient } from '../src/generated/prisma/client.ts';
import { PrismaPg } from '@prisma/adapter-pg';
const db = new PrismaClient({ adapter: new PrismaPg({ connectionString: 'postgres://postgres@127.0.0.1:5432/bstmt' }), log: [{ emit: 'event', level: 'query' }] });
db.$on('query', () => {});
const N = 2000;
const t = await db.tenant.findFirstOrThrow();
async function timeIt(name: string, f: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 200; i++) await f(i);
  const c0 = process.cpuUsage(); const w0 = performance.now();
  for (let i = 0; i < N; i++) await f(i);
  const c = process.cpuUsage(c0); const w = performance.now() - w0;
  console.log(name.padEnd(40), ((c.user + c.system) / 1000 / N).toFixed(3), 'ms cpu', (w / N).toFixed(3), 'ms wall');
}
let k = 0;
await timeIt('model create (audit)', () => db.auditEvent.create({ data: { id: `b${k++}x${Math.random()}`, tenantId: t.id, eventType: 'bench', resource: 'r', decision: 'allowed', actorType: 'system', details: { a: 1 } } }));
await timeIt('executeRaw insert (audit)', () => db.$executeRaw`INSERT INTO "AuditEvent" ("id","tenantId","eventType","resource","decision","actorType","details","createdAt") VALUES (${`c${k++}x${Math.random()}`}, ${t.id}, 'bench', 'r', 'allowed', 'system', ${JSON.stringify({ a: 1 })}::jsonb, now())`);
await timeIt('model findUnique', () => db.tenant.findUnique({ where: { id: t.id } }));
await timeIt('queryRaw select', () => db.$queryRaw`SELECT * FROM "Tenant" WHERE "id" = ${t.id}`);
await timeIt('executeRaw SAVEPOINT in tx', async () => db.$transaction(async (tx) => { await tx.$executeRawUnsafe('SELECT 1'); }));
await db.$disconnect();
