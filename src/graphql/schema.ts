import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.ts';
import { defineErrorCodeEnum } from './common.ts';
import { AREAS } from '../areas/index.ts';

// Every area has registered its error codes by now (AREAS imported them).
void AREAS;
defineErrorCodeEnum();

export const schema = builder.toSchema();

/** The committed `schema.graphql`: sorted so diffs show real changes only. */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
