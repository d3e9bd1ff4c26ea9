import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from '../builder.ts';
import './common.ts';
import './identity.ts';
import './agents.ts';
import './harbor.ts';
import './governance.ts';

export const schema = builder.toSchema();

/** The committed `schema.graphql`: sorted so diffs show real changes only. */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
