/** npm run schema:print — rewrite schema.graphql from the Pothos schema. */
import fs from 'node:fs';
import path from 'node:path';
import { printedSchema } from '../src/graphql/schema.ts';

const target = path.resolve(import.meta.dirname, '../schema.graphql');
fs.writeFileSync(target, printedSchema());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
