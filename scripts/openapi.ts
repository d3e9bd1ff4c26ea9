/**
 * npm run openapi [-- --out <file>]   print (or write) the OpenAPI 3.1 document of the REST surface
 * npm run lint:openapi                 check it with Redocly's recommended rules (0 errors, 0 warnings)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { schema } from '../src/graphql/schema.ts';
import { GATEWAY_VERSION } from '../src/version.ts';
import { buildOpenApi } from '../rest-compat/openapi.ts';
import { routes } from '../rest-compat/routes/index.ts';
import { runCommand } from './cli.ts';

runCommand({
  usage: `usage: npm run openapi [-- --out <file>]      the OpenAPI 3.1 document (stdout without --out)
       npm run lint:openapi                   lint it with Redocly's recommended rules`,
  options: { out: { type: 'string' }, lint: { type: 'boolean' } },
  async run({ values }) {
    const document = `${JSON.stringify(buildOpenApi(schema, routes, { version: GATEWAY_VERSION, serverUrl: process.env.PUBLIC_BASE_URL }), null, 2)}\n`;
    if (!values.lint) {
      if (values.out) fs.writeFileSync(values.out, document);
      else process.stdout.write(document);
      return 0;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paybond-openapi-'));
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, document);
    const cli = path.join(import.meta.dirname, '../node_modules/@redocly/cli/bin/cli.js');
    const lint = spawnSync(process.execPath, [cli, 'lint', '--extends=recommended', '--format=json', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    fs.rmSync(dir, { recursive: true, force: true });
    const report = JSON.parse(lint.stdout || '{}') as { totals?: { errors: number; warnings: number }; problems?: Array<{ ruleId: string; severity: string; message: string; location?: Array<{ pointer?: string }> }> };
    if (!report.totals) {
      process.stderr.write(`${lint.stderr}\n`);
      return 1;
    }
    for (const p of report.problems ?? []) process.stderr.write(`${p.severity} ${p.ruleId}: ${p.message} (${p.location?.[0]?.pointer ?? ''})\n`);
    console.log(`OpenAPI (Redocly recommended rules): ${report.totals.errors} errors, ${report.totals.warnings} warnings`);
    return report.totals.errors || report.totals.warnings ? 1 : 0;
  },
});
