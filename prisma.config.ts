import path from 'node:path';
import { defineConfig } from 'prisma/config';

// Prisma 7's CLI fetches a native schema engine before every command, which fails offline.
// `prisma generate` never runs that engine, so point the CLI at a stub; migrations run through
// the WASM engine instead (src/db/migrate.ts, `npm run db:migrate`).
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(import.meta.dirname, 'scripts/no-schema-engine.sh');

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
