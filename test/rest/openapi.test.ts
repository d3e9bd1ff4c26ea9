import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { parse, validate } from 'graphql';
import { createTestGateway, rest, type TestGateway } from '../helpers/gateway.ts';
import { routes } from '../../rest-compat/routes/index.ts';
import { schema } from '../../src/graphql/schema.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await createTestGateway();
});
afterAll(() => gw.close());

describe('route table and OpenAPI', () => {
  it('serves a valid OpenAPI 3.1 document that lists every route', async () => {
    const res = await rest(gw, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    const result = await new Validator().validate(res.body);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(res.body.openapi).toBe('3.1.0');
    for (const route of routes) {
      expect(res.body.paths[route.path]?.[route.method.toLowerCase()], `${route.method} ${route.path}`).toBeDefined();
    }
  });

  it('has one row per method and path', () => {
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('runs operations that are valid against the schema, with exactly one root field', () => {
    for (const route of routes) {
      if (route.kind !== 'operation') continue;
      const document = parse(route.operation);
      expect(validate(schema, document), `${route.method} ${route.path}`).toEqual([]);
      const op = document.definitions[0] as unknown as { selectionSet: { selections: unknown[] } };
      expect(op.selectionSet.selections, `${route.method} ${route.path}`).toHaveLength(1);
    }
  });
});
