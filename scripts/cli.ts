import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../src/config.ts';
import { StartupError } from '../src/db.ts';
import { MigrationError } from '../src/db/migrate.ts';

/**
 * What every operator command shares: `--help`, one-line errors for user mistakes (bad flags,
 * bad configuration, an unreachable or busy database) with no stack trace, progress lines on
 * stderr for anything slower than a moment, and exit codes 0 ok / 1 failed / 2 usage.
 */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command<O extends Options> {
  usage: string;
  options: O;
  /** Positional arguments allowed (subcommands). */
  positionals?: boolean;
  /** Exit code when the command cannot do its work (configuration, database); default 1. */
  errorExit?: number;
  run(args: { values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>['values']; positionals: string[] }): Promise<number>;
}

/** A progress line (stderr, so stdout stays parseable). */
export const progress = (line: string) => process.stderr.write(`… ${line}\n`);

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', '28P01', '3D000']);

export function explain(error: unknown): string | null {
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof StartupError || error instanceof MigrationError) return error.message;
  const code = (error as { code?: string } | null)?.code;
  if (code && CONNECTION_CODES.has(code)) return `Cannot reach the database (${code}): check DATABASE_URL and that the server is up.`;
  return null;
}

export function runCommand<O extends Options>(command: Command<O>): void {
  const main = async (): Promise<number> => {
    let parsed;
    try {
      parsed = parseArgs({ options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n\n${command.usage}\n`);
      return 2;
    }
    if ((parsed.values as { help?: boolean }).help) {
      process.stdout.write(`${command.usage}\n`);
      return 0;
    }
    if (!command.positionals && parsed.positionals.length) {
      process.stderr.write(`Unexpected argument ${parsed.positionals[0]}\n\n${command.usage}\n`);
      return 2;
    }
    return command.run(parsed as never);
  };
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const message = explain(error);
      if (error instanceof UsageError) process.stderr.write(`${message}\n\n${command.usage}\n`);
      else if (message) process.stderr.write(`${message}\n`);
      else process.stderr.write(`Unexpected error: ${process.env.DEBUG ? ((error as Error).stack ?? String(error)) : ((error as Error).message ?? String(error))} (DEBUG=1 for details)\n`);
      process.exit(error instanceof UsageError ? 2 : (command.errorExit ?? 1));
    },
  );
}

/** Where the gateway is reached, for hints: PUBLIC_BASE_URL, or localhost on PORT. */
export const gatewayUrl = (config: { PUBLIC_BASE_URL?: string; PORT: number }) => (config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`).replace(/\/$/, '');
