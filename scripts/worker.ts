/**
 * npm run worker — a dedicated webhook delivery process.
 *
 * Delivers the outbox (src/areas/webhooks/worker.ts) without serving requests: run any number of
 * them beside gateways started with WEBHOOK_WORKER=off (or beside gateways that deliver too; claims
 * are exclusive either way). Reads the same environment as the gateway. SIGTERM / SIGINT hand the
 * claims in flight back and exit.
 */
import { ConfigError, loadConfig } from '../src/config.ts';
import { StartupError } from '../src/db.ts';
import { createRuntime } from '../src/runtime.ts';
import { drainDeliveries, stopDeliveries } from '../src/areas/webhooks/worker.ts';

const POLL_MS = 100;

async function main(): Promise<void> {
  const runtime = await createRuntime(loadConfig());
  let stopped = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  runtime.log.info({ database: runtime.dbKind }, 'webhook worker started');
  while (!stopped) {
    try {
      await drainDeliveries(runtime);
    } catch (error) {
      runtime.log.error({ err: error }, 'webhook worker pass failed');
    }
    if (stopped) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, POLL_MS);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  await stopDeliveries(runtime);
  await runtime.close();
  runtime.log.info('webhook worker stopped');
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`webhook worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
