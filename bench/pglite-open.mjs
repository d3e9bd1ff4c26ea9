// P5 reference: open the same PGlite data dir alone, then answer /healthz (the gateway's readiness probe shape).
import { createServer } from 'node:http';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

const db = await PGlite.create(path.join(process.env.DATA_DIR, 'pglite'));
await db.query('SELECT 1');
createServer((_req, res) => res.writeHead(200).end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => void db.close().then(() => process.exit(0)));
