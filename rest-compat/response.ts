import {
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  parse,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { z } from 'zod';
import type { OperationRoute, Shape } from './route.ts';

/**
 * A REST body is the GraphQL payload of its operation, shaped by the route's declarative Shape.
 * Its response schema is derived from the same two declarations: the selection's GraphQL types
 * (nullability, lists, scalars, enums) and the Shape. Nothing about a response is declared twice.
 */

const SCALARS: Record<string, () => z.ZodType> = {
  String: () => z.string(),
  ID: () => z.string(),
  Int: () => z.number().int(),
  Float: () => z.number(),
  Boolean: () => z.boolean(),
  DateTime: () => z.iso.datetime({ offset: true }),
  JSON: () => z.unknown(),
};

function forType(type: GraphQLOutputType, selection: SelectionSetNode | undefined): z.ZodType {
  if (isNonNullType(type)) return forNamed(type.ofType, selection);
  return forNamed(type, selection).nullable();
}

function forNamed(type: GraphQLOutputType, selection: SelectionSetNode | undefined): z.ZodType {
  if (isListType(type)) return z.array(forType(type.ofType, selection));
  if (isEnumType(type)) return z.enum(type.getValues().map((v) => v.value as string) as [string, ...string[]]);
  if (isScalarType(type)) {
    const scalar = SCALARS[type.name];
    if (!scalar) throw new Error(`no REST schema for scalar ${type.name}`);
    return scalar();
  }
  if (isObjectType(type) && selection) {
    const shape: Record<string, z.ZodType> = {};
    for (const node of selection.selections) {
      if (node.kind !== Kind.FIELD) throw new Error('REST operations select fields only (no fragments)');
      const field = type.getFields()[node.name.value];
      if (!field) throw new Error(`${type.name} has no field ${node.name.value}`);
      shape[node.alias?.value ?? node.name.value] = forType(field.type, node.selectionSet);
    }
    return z.strictObject(shape);
  }
  throw new Error(`cannot derive a REST schema for ${String(type)}`);
}

const unwrap = (schema: z.ZodType): z.ZodType => (schema instanceof z.ZodNullable ? (schema.unwrap() as z.ZodType) : schema);
const objectShape = (schema: z.ZodType, what: string): Record<string, z.ZodType> => {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodObject)) throw new Error(`${what} is not an object`);
  return inner.shape as Record<string, z.ZodType>;
};

export function parseOperation(route: OperationRoute): { definition: OperationDefinitionNode; rootField: string } {
  const document = parse(route.operation);
  const definition = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const root = definition?.selectionSet.selections[0];
  if (!definition || !root || root.kind !== Kind.FIELD || definition.selectionSet.selections.length !== 1) {
    throw new Error(`route ${route.method} ${route.path}: the operation must select exactly one root field`);
  }
  return { definition, rootField: root.name.value };
}

/** The response schema of an operation route, from its selection and its Shape. */
export function responseSchema(schema: GraphQLSchema, route: OperationRoute): z.ZodType {
  const { definition, rootField } = parseOperation(route);
  const rootType = definition.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  const root = definition.selectionSet.selections[0]!;
  const field = rootType?.getFields()[rootField];
  if (!field || root.kind !== Kind.FIELD) throw new Error(`route ${route.method} ${route.path}: unknown root field ${rootField}`);
  // A null root field is a 404 and userErrors an error response, so a 2xx body has neither.
  let body = unwrap(forType(field.type, root.selectionSet));
  if (body instanceof z.ZodObject && 'userErrors' in body.shape) body = body.omit({ userErrors: true } as never);
  return shapeSchema(body, route.shape ?? {}, `${route.method} ${route.path}`);
}

function shapeSchema(schema: z.ZodType, shape: Shape, where: string): z.ZodType {
  let body = schema;
  if (shape.page) {
    const { edges, pageInfo, ...rest } = objectShape(body, where);
    const node = objectShape((unwrap(edges!) as z.ZodArray<z.ZodType>).element, `${where} edges`).node!;
    void pageInfo;
    body = z.strictObject({ ...rest, [shape.page]: z.array(unwrap(node)), next_cursor: z.string().nullable() });
  }
  if (shape.pick) body = unwrap(objectShape(body, where)[shape.pick]!);
  if (shape.spread) {
    const all = objectShape(body, where);
    const lifted = Object.fromEntries(shape.spread.flatMap((key) => Object.entries(objectShape(all[key]!, `${where} ${key}`))));
    const rest = Object.fromEntries(Object.entries(all).filter(([k]) => !shape.spread!.includes(k)));
    body = z.strictObject({ ...lifted, ...rest });
  }
  if (shape.wrap) body = z.strictObject({ [shape.wrap]: body });
  if (shape.constants) body = z.strictObject({ ...objectShape(body, where), ...Object.fromEntries(Object.entries(shape.constants).map(([k, v]) => [k, z.literal(v)])) });
  if (shape.omit || shape.omitNull) {
    const all = { ...objectShape(body, where) };
    for (const key of shape.omit ?? []) delete all[key];
    for (const key of shape.omitNull ?? []) all[key] = unwrap(all[key]!).optional();
    body = z.strictObject(all);
  }
  return body;
}

type Obj = Record<string, unknown>;

/** Apply a route's Shape to a payload (the runtime twin of shapeSchema). */
export function shapeBody(payload: unknown, shape: Shape = {}): unknown {
  let body = payload;
  if (shape.page) {
    const { edges, pageInfo, ...rest } = body as Obj & { edges: Array<{ node: unknown }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    body = { ...rest, [shape.page]: edges.map((e) => e.node), next_cursor: pageInfo.hasNextPage ? pageInfo.endCursor : null };
  }
  if (shape.pick) body = (body as Obj)[shape.pick];
  if (shape.spread) {
    const all = body as Obj;
    body = {
      ...Object.fromEntries(shape.spread.flatMap((key) => Object.entries((all[key] as Obj | null) ?? {}))),
      ...Object.fromEntries(Object.entries(all).filter(([k]) => !shape.spread!.includes(k))),
    };
  }
  if (shape.wrap) body = { [shape.wrap]: body };
  if (shape.constants) body = { ...(body as Obj), ...shape.constants };
  if (shape.omit || shape.omitNull) {
    body = Object.fromEntries(
      Object.entries(body as Obj).filter(([k, v]) => !shape.omit?.includes(k) && !(v === null && shape.omitNull?.includes(k))),
    );
  }
  return body;
}

/** The success status of an operation route for a payload. */
export function successStatus(route: OperationRoute, payload: Obj): number {
  if (typeof route.status === 'number') return route.status;
  if (route.status) return route.status.statuses[String(payload[route.status.field])] ?? 200;
  return 200;
}

/** Every success status a route can answer with (OpenAPI). */
export const successStatuses = (route: OperationRoute): number[] =>
  typeof route.status === 'object' ? [...new Set(Object.values(route.status.statuses))] : [route.status ?? 200];

