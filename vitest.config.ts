import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The suite runs on the embedded database (PGlite, always) and, when TEST_DATABASE_URL points
 * at a PostgreSQL server, again on a fresh database of that server (.ci/run sets it).
 */
const project = (name: 'pglite' | 'postgres'): TestProjectInlineConfiguration => ({
  extends: true,
  test: { name, globalSetup: ['test/helpers/global-setup.ts'] },
});

export default defineConfig({
  // Load graphql's CommonJS build, as Node does for our dependencies: one copy of its classes.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['test/**/*.test.ts'],
    // Suites that need a Redis server run when TEST_REDIS_URL points at one.
    exclude: ['**/node_modules/**', ...(process.env.TEST_REDIS_URL ? [] : ['test/**/*.redis.test.ts'])],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [project('pglite'), ...(process.env.TEST_DATABASE_URL ? [project('postgres')] : [])],
  },
});
