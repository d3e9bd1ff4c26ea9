import type { InputFieldRef, InputObjectRef } from '@pothos/core';
import type { z } from 'zod';
import { toJsonSchema, unwrapNullable, type JsonSchema } from '../kernel/json-schema.ts';
import { builder, type SchemaTypes } from './builder.ts';

/**
 * GraphQL input types generated from the domain's zod input schemas, so an input is declared once:
 * the zod schema validates (Pothos validation plugin), types the resolver argument (its output),
 * names the GraphQL fields and describes them (`.describe()` / `.meta({ description })`).
 * A zod enum with `.meta({ id })` becomes a named GraphQL enum shared by every input using it.
 */
const enums = new Map<string, unknown>();
const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

type FieldBuilder = PothosSchemaTypes.InputFieldBuilder<SchemaTypes, 'InputObject'>;

function namedEnum(id: string, def: JsonSchema): unknown {
  let ref = enums.get(id);
  if (!ref) {
    ref = builder.enumType(id, {
      description: (def.description as string | undefined) ?? `One of ${(def.enum as string[]).join(', ')}.`,
      values: Object.fromEntries(
        (def.enum as string[]).map((v) => [v, { value: v, description: (def['x-values'] as Record<string, string> | undefined)?.[v] }]),
      ),
    });
    enums.set(id, ref);
  }
  return ref;
}

/** The GraphQL input type of one JSON Schema node (already unwrapped from null). */
function inputType(schema: JsonSchema, defs: Record<string, JsonSchema>, typeName: string): unknown {
  const ref = schema.$ref as string | undefined;
  if (ref) {
    const id = ref.replace('#/$defs/', '');
    const def = defs[id]!;
    if (Array.isArray(def.enum) && def.enum.every((v) => typeof v === 'string' && /^[_A-Za-z][_0-9A-Za-z]*$/.test(v))) return namedEnum(id, def);
    return inputType(def, defs, id);
  }
  const anyOf = schema.anyOf as JsonSchema[] | undefined;
  if (anyOf?.every((s) => typeof s.const === 'number' && Number.isInteger(s.const))) return 'Int';
  if (schema.type === 'string') return schema['x-date'] ? 'DateTime' : 'String';
  if (schema.type === 'integer') return 'Int';
  if (schema.type === 'number') return 'Float';
  if (schema.type === 'boolean') return 'Boolean';
  if (schema.type === 'object' && schema.properties && !schema.additionalProperties) return objectType(typeName, schema, defs);
  return 'JSON';
}

function objectType(name: string, schema: JsonSchema, defs: Record<string, JsonSchema>, description?: string) {
  const properties = schema.properties as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return builder.inputType(name, {
    description: description ?? (schema.description as string | undefined),
    fields: (t: FieldBuilder) =>
      Object.fromEntries(
        Object.entries(properties).map(([key, raw]): [string, InputFieldRef<SchemaTypes, unknown>] => {
          const { schema: prop, nullable } = unwrapNullable(raw);
          const isAny = Object.keys(prop).filter((k) => k !== 'description').length === 0;
          const fieldRequired = required.has(key) && !nullable && !isAny && prop.default === undefined;
          const referenced = prop.$ref ? defs[(prop.$ref as string).replace('#/$defs/', '')] : undefined;
          const description = (prop.description ?? referenced?.description) as string | undefined;
          if (prop.type === 'array') {
            const items = unwrapNullable((prop.items as JsonSchema | undefined) ?? {});
            const item = inputType(items.schema, defs, `${name}${pascal(key)}Item`);
            return [key, t.field({ type: [item] as never, required: { list: fieldRequired, items: !items.nullable } as never, description })];
          }
          return [key, t.field({ type: inputType(prop, defs, `${name}${pascal(key)}`) as never, required: fieldRequired as never, description })];
        }),
      ) as never,
  });
}

/**
 * GraphQL sends explicit nulls for optional inputs; zod's `.optional()` wants them absent. Drop
 * a null wherever the schema does not accept null, recursively through nested objects.
 */
function dropNulls(value: unknown, schema: JsonSchema, defs: Record<string, JsonSchema>): unknown {
  if (!value || typeof value !== 'object') return value;
  const resolved = schema.$ref ? defs[(schema.$ref as string).replace('#/$defs/', '')]! : schema;
  if (Array.isArray(value)) return value.map((v) => dropNulls(v, unwrapNullable((resolved.items as JsonSchema | undefined) ?? {}).schema, defs));
  const properties = resolved.properties as Record<string, JsonSchema> | undefined;
  if (!properties || resolved.additionalProperties) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const prop = properties[key];
    if (!prop) continue;
    const { schema: inner, nullable } = unwrapNullable(prop);
    if (item === null && !nullable) continue;
    out[key] = dropNulls(item, inner, defs);
  }
  return out;
}

/** The GraphQL input type for a zod object schema; resolvers receive the schema's parsed output. */
export function inputFromZod<T extends z.ZodObject>(name: string, schema: T, description?: string): InputObjectRef<SchemaTypes, z.output<T>> {
  const json = toJsonSchema(schema);
  const defs = (json.$defs as Record<string, JsonSchema> | undefined) ?? {};
  const ref = objectType(name, json, defs, description ?? (json.description as string | undefined)) as InputObjectRef<SchemaTypes, unknown>;
  const prepared = {
    '~standard': {
      version: 1 as const,
      vendor: 'paybond',
      validate: (value: unknown) => schema['~standard'].validate(dropNulls(value, json, defs)),
    },
  };
  return ref.validate(prepared as never) as InputObjectRef<SchemaTypes, z.output<T>>;
}

/** A named GraphQL enum for a zod enum carrying `.meta({ id })` (shared with inputs that use it). */
export function enumFromZod<T extends z.ZodEnum>(schema: T): PothosSchemaTypes.EnumRef<SchemaTypes, z.output<T>> {
  const json = toJsonSchema(schema);
  const id = (schema.meta() as { id?: string } | undefined)?.id;
  if (!id) throw new Error('enumFromZod needs .meta({ id })');
  const defs = (json.$defs as Record<string, JsonSchema> | undefined) ?? {};
  return namedEnum(id, defs[id] ?? json) as PothosSchemaTypes.EnumRef<SchemaTypes, z.output<T>>;
}
