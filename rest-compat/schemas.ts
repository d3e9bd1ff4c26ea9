import { z } from 'zod';
import { toJsonSchema, unwrapNullable, type JsonSchema } from '../src/kernel/json-schema.ts';
import { toCamel, toSnake } from './route.ts';

/**
 * REST bodies are the domain's camelCase zod inputs with snake_case keys. These helpers map a
 * body onto the schema's keys (records and free-form JSON keep their keys as sent), name a field
 * back in REST words, and give OpenAPI the snake_case JSON Schema.
 */
const cache = new WeakMap<z.ZodType, JsonSchema>();
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  let json = cache.get(schema);
  if (!json) cache.set(schema, (json = toJsonSchema(schema)));
  return json;
}

const resolve = (schema: JsonSchema, root: JsonSchema): JsonSchema =>
  schema.$ref ? ((root.$defs as Record<string, JsonSchema>)[(schema.$ref as string).replace('#/$defs/', '')] ?? {}) : schema;

/** Snake_case keys → the schema's camelCase keys, recursively through declared objects. Unknown keys are dropped (tenant hints, extras). */
export function camelize(value: unknown, schema: JsonSchema, root: JsonSchema = schema): unknown {
  const node = resolve(unwrapNullable(schema).schema, root);
  if (Array.isArray(value)) return node.items ? value.map((v) => camelize(v, node.items as JsonSchema, root)) : value;
  const properties = node.properties as Record<string, JsonSchema> | undefined;
  if (!value || typeof value !== 'object' || !properties || node.additionalProperties) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const camel: string = key in properties ? key : toCamel(key);
    if (camel in properties) out[camel] = camelize(item, properties[camel]!, root);
  }
  return out;
}

/** The same JSON Schema with snake_case property names (OpenAPI request bodies). */
export function snakeJsonSchema(schema: JsonSchema): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === 'properties' && value && typeof value === 'object') {
        out[key] = Object.fromEntries(Object.entries(value).map(([name, prop]) => [toSnake(name), walk(prop)]));
      } else if (key === 'required' && Array.isArray(value)) {
        out[key] = value.map((name) => toSnake(String(name)));
      } else out[key] = walk(value);
    }
    return out;
  };
  return walk(schema) as JsonSchema;
}

export interface FieldIssue {
  field: string;
  message: string;
}

/** A zod error as REST field issues: `allowed_tools`, `policy_binding.template_id`, `limit`. */
export const restIssues = (error: z.ZodError): FieldIssue[] =>
  error.issues.map((issue) => ({
    field: issue.path.map((p) => (typeof p === 'string' ? toSnake(p) : String(p))).join('.'),
    message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
  }));

export const restMessage = (issues: FieldIssue[]) => issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ');

export const timestamp = z.iso.datetime({ offset: true });

/** Cursor pagination as every REST list takes it. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(200).optional(),
});

export const pageVariables = (query: Record<string, unknown>) => ({ first: (query.limit as number | undefined) ?? 20, after: query.cursor });
