import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/**
 * A zod schema as JSON Schema (2020-12): the one description of an input that GraphQL input types
 * (src/graphql/inputs.ts) and OpenAPI (rest-compat/openapi.ts) are generated from. Dates are
 * RFC 3339 strings marked `x-date` (GraphQL maps them to DateTime).
 */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      const def = (ctx.zodSchema as { _zod?: { def?: { type?: string } } })._zod?.def;
      if (def?.type === 'date') Object.assign(ctx.jsonSchema, { type: 'string', format: 'date-time', 'x-date': true });
    },
  }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** The non-null member of `anyOf: [X, {type: null}]`, and whether null was allowed. */
export function unwrapNullable(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const anyOf = schema.anyOf as JsonSchema[] | undefined;
  if (anyOf) {
    const rest = anyOf.filter((s) => s.type !== 'null');
    if (rest.length === 1 && rest.length < anyOf.length) return { schema: { ...rest[0], ...omit(schema, 'anyOf') }, nullable: true };
  }
  return { schema, nullable: false };
}

const omit = (o: JsonSchema, key: string) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

/**
 * A zod enum that carries its GraphQL name and a description of the enum and of every value,
 * so the GraphQL enum generated from it (src/graphql/inputs.ts) is fully documented.
 */
export function describedEnum<const V extends Record<string, string>>(id: string, description: string, values: V) {
  return z.enum(Object.keys(values) as [keyof V & string, ...Array<keyof V & string>]).meta({ id, description, 'x-values': values });
}
