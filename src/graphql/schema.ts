import { isObjectType, lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.ts';
import { defineErrorCodeEnum } from './common.ts';
import { AREAS } from '../areas/index.ts';

// Every area has registered its error codes by now (AREAS imported them).
void AREAS;
defineErrorCodeEnum();

export const schema = builder.toSchema();

// The Prisma plugin adds `totalCount` to connections without a description.
for (const type of Object.values(schema.getTypeMap())) {
  const field = isObjectType(type) ? type.getFields().totalCount : undefined;
  if (field && !field.description) field.description = 'How many items the whole list holds.';
}

/** The committed `schema.graphql`: sorted so diffs show real changes only. */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
