import fs from 'node:fs';
import path from 'node:path';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isIntrospectionType,
  isObjectType,
  isInterfaceType,
  isScalarType,
  isSpecifiedScalarType,
  type GraphQLField,
  type GraphQLObjectType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../src/graphql/schema.ts';
import { AREAS } from '../src/areas/index.ts';
import { isRouteGroup } from '../src/kernel/limits/groups.ts';
import type { FieldPolicy } from '../src/kernel/policy.ts';
import { areaRoutes, routes } from '../rest-compat/routes/index.ts';

/**
 * The registrations a new area must make, checked: a folder or a rows file that is not
 * registered, a root field without a policy, a mutation without a declared rate-limit group,
 * a secret-looking field without a decision, or an undocumented schema element fails here.
 */
const root = path.join(import.meta.dirname, '..');
const rootFields = (type: GraphQLObjectType | null | undefined) => Object.values(type?.getFields() ?? {});
const policyOf = (field: GraphQLField<unknown, unknown>) => field.extensions.policy as FieldPolicy | undefined;

describe('area registry', () => {
  it('lists every folder under src/areas, and every area has REST rows', () => {
    const folders = fs.readdirSync(path.join(root, 'src/areas'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect([...AREAS].sort()).toEqual(folders.sort());
    expect(Object.keys(areaRoutes).sort()).toEqual([...AREAS].sort());
  });

  it('reaches every rows file under rest-compat/routes from the route table', () => {
    const index = fs.readFileSync(path.join(root, 'rest-compat/routes/index.ts'), 'utf8');
    for (const file of fs.readdirSync(path.join(root, 'rest-compat/routes'))) {
      if (file !== 'index.ts') expect(index, `rest-compat/routes/${file} is not imported by the route table`).toContain(`'./${file}'`);
    }
  });

  it('has no two routes with the same method and path', () => {
    const seen = routes.map((r) => `${r.method} ${r.path}`);
    expect(seen.length).toBe(new Set(seen).size);
  });
});

describe('policy on the field', () => {
  it('declares a policy on every query and mutation root field', () => {
    for (const field of [...rootFields(schema.getQueryType()), ...rootFields(schema.getMutationType())]) {
      expect(policyOf(field), `${field.name} declares no policy (use policy() from src/graphql/common.ts)`).toBeDefined();
    }
  });

  it('declares a rate-limit group (or explicitly none) on every mutation, and only groups that exist', () => {
    for (const field of [...rootFields(schema.getQueryType()), ...rootFields(schema.getMutationType())]) {
      const policy = policyOf(field);
      if (schema.getMutationType()?.getFields()[field.name]) expect(policy?.rateLimit, `mutation ${field.name} declares no rateLimit`).not.toBeUndefined();
      if (policy?.rateLimit) expect(isRouteGroup(policy.rateLimit), `${field.name}: unknown route group ${policy.rateLimit}`).toBe(true);
    }
  });

  it('decides for every field that looks like it carries a secret whether it is a one-time secret', () => {
    const looksSecret = /(^|[a-z])(secret|token|password|apiKey|privateKey)$/i;
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || isIntrospectionType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        if (!looksSecret.test(field.name) || getNamedType(field.type).name !== 'String') continue;
        expect(typeof field.extensions.secret, `${type.name}.${field.name} looks like a secret: mark it ONE_TIME_SECRET or { extensions: { secret: false } }`).toBe('boolean');
      }
    }
  });
});

describe('GraphQL documentation', () => {
  it('describes every public type, field, argument, input field and enum value', () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (isIntrospectionType(type) || (isScalarType(type) && isSpecifiedScalarType(type))) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of field.args) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isInputObjectType(type)) for (const field of Object.values(type.getFields())) if (!field.description) missing.push(`${type.name}.${field.name}`);
      if (isEnumType(type)) for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
    }
    expect(missing).toEqual([]);
  });
});
