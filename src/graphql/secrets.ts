import { getNamedType, getOperationAST, isObjectType, Kind, type DocumentNode, type GraphQLObjectType, type GraphQLSchema, type SelectionSetNode } from 'graphql';

/**
 * Response paths (by response key, so aliases count) of every selected field marked as carrying a
 * one-time secret (`ONE_TIME_SECRET` in src/graphql/common.ts). The idempotency stage removes these
 * before it stores a result, so a replay never hands a secret out twice.
 */
export function secretPaths(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): string[][] {
  const operation = getOperationAST(document, operationName);
  if (!operation) return [];
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const root = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  const found: string[][] = [];
  const walk = (type: GraphQLObjectType, selections: SelectionSetNode, path: string[]) => {
    for (const selection of selections.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) walk(type, selection.selectionSet, path);
      else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(type, fragment.selectionSet, path);
      } else {
        const field = type.getFields()[selection.name.value];
        if (!field) continue;
        const key = [...path, selection.alias?.value ?? selection.name.value];
        if (field.extensions.secret === true) found.push(key);
        const named = getNamedType(field.type);
        if (selection.selectionSet && isObjectType(named)) walk(named, selection.selectionSet, key);
      }
    }
  };
  if (root) walk(root, operation.selectionSet, []);
  return found;
}

/** `value` with every secret path set to null (lists are walked element by element). */
export function withoutPaths(value: unknown, paths: string[][]): unknown {
  if (!paths.length || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => withoutPaths(item, paths));
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, ...rest] of paths) {
    if (!(key! in out)) continue;
    if (!rest.length) out[key!] = typeof out[key!] === 'string' ? null : out[key!];
    else out[key!] = withoutPaths(out[key!], [rest]);
  }
  return out;
}
