import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printedSchema } from '../../src/graphql/schema.ts';
import { createTestGateway, gql, type GqlResult, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';

let gw: TestGateway;
let org: TestOrg;
beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
});
afterAll(() => gw.close());

const SPEC_ACCEPT = { headers: { accept: 'application/graphql-response+json' } };
function expectRejected(result: GqlResult, message: RegExp) {
  expect(result.status).toBe(400);
  expect(result.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  expect(result.errors?.[0]?.message).toMatch(message);
}

describe('GraphQL schema', () => {
  it('matches the committed schema.graphql (run npm run schema:print)', () => {
    const committed = fs.readFileSync(path.resolve(import.meta.dirname, '../../schema.graphql'), 'utf8');
    expect(committed).toBe(printedSchema());
  });

  it('allows Relay-depth queries (12 levels) but refuses deeper ones, fragments included', async () => {
    // __type → fields → type → ofType… nests as deep as we like.
    const typeChain = (levels: number) => `__type(name: "Query") { fields { type { ${'ofType { '.repeat(levels)}name${' }'.repeat(levels)} } } }`;
    const ok = await gql(gw, `{ ${typeChain(8)} }`);
    expect(ok.errors, JSON.stringify(ok.errors)).toBeUndefined();
    const deep = await gql(gw, `{ ${typeChain(12)} }`, {}, SPEC_ACCEPT);
    expectRejected(deep, /depth/i);
    expectRejected(await gql(gw, `{ ...Deep } fragment Deep on Query { ${typeChain(12)} }`, {}, SPEC_ACCEPT), /depth/i);
  });

  it('limits aliases', async () => {
    const aliases = Array.from({ length: 25 }, (_, i) => `a${i}: viewer { tenantId }`).join(' ');
    expectRejected(await gql(gw, `{ ${aliases} }`, {}, SPEC_ACCEPT), /alias/i);
    // application/json clients get the same error with 200, as GraphQL-over-HTTP prescribes.
    const legacy = await gql(gw, `{ ${aliases} }`);
    expect(legacy.status).toBe(200);
    expect(legacy.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('limits tokens', async () => {
    const fields = Array.from({ length: 2100 }, () => '__typename').join(' ');
    expectRejected(await gql(gw, `{ ${fields} }`, {}, SPEC_ACCEPT), /token limit/i);
  });
});
