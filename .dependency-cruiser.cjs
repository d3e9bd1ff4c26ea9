/**
 * Layering rules (docs/ARCHITECTURE.md, "Layers"). `npm run lint:deps` checks them; .ci/run fails on
 * a violation. Type-only imports count too: a cycle of types is still a cycle to read.
 */
/** GraphQL files of an area: `graphql.ts` and `<topic>.graphql.ts`. */
const AREA_GRAPHQL = 'graphql[.]ts$';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import cycles.', from: {}, to: { circular: true } },
    {
      name: 'domain-is-plain',
      severity: 'error',
      comment: 'Domain code imports no GraphQL schema, REST or pipeline code.',
      from: { path: '^src/areas/[a-z-]+/', pathNot: AREA_GRAPHQL },
      to: { path: ['^src/graphql/', '^src/areas/[a-z-]+/[a-z.-]*graphql[.]ts$', '^src/areas/index[.]ts$', '^src/plugins/', '^rest-compat/', '^src/app[.]ts$'] },
    },
    {
      name: 'graphql-knows-no-rest',
      severity: 'error',
      comment: 'GraphQL schema code imports no REST or pipeline code.',
      from: { path: ['^src/graphql/', '^src/areas/[a-z-]+/[a-z.-]*graphql[.]ts$', '^src/areas/index[.]ts$'] },
      to: { path: ['^rest-compat/', '^src/plugins/', '^src/app\\.ts$'] },
    },
    {
      name: 'kernel-knows-no-areas',
      severity: 'error',
      comment: 'The shared kernel imports no area, GraphQL, pipeline or REST code.',
      from: { path: '^src/kernel/' },
      to: { path: ['^src/areas/', '^src/graphql/', '^src/plugins/', '^rest-compat/', '^src/app\\.ts$'] },
    },
    {
      name: 'crypto-and-db-are-leaves',
      severity: 'error',
      comment: 'Crypto and database code import no area, GraphQL, pipeline or REST code.',
      from: { path: ['^src/crypto/', '^src/db(\\.ts|/)', '^src/evidence/'] },
      to: { path: ['^src/areas/', '^src/graphql/', '^src/plugins/', '^rest-compat/', '^src/app\\.ts$'] },
    },
    {
      name: 'pipeline-knows-no-rest',
      severity: 'error',
      comment: 'Pipeline stages import no REST code (the REST layer sits on top of them).',
      from: { path: '^src/plugins/' },
      to: { path: '^rest-compat/' },
    },
    {
      name: 'src-knows-no-rest',
      severity: 'error',
      comment: 'Only the app wiring reaches the REST layer from src/.',
      from: { path: '^src/', pathNot: '^src/app\\.ts$' },
      to: { path: '^rest-compat/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
