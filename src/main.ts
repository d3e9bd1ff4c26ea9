import { createServer } from 'node:http';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase, StartupError } from './db.ts';
import { createLogger } from './logger.ts';

/** The only file that listens on a port. */
async function main() {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  // Open the database while the rest of the gateway loads: most of a restart is those two.
  const database = openDatabase(config, log);
  database.catch(() => undefined); // handled when awaited below
  const { createApp, createRuntime } = await import('./app.ts');
  const { startBackgroundTasks } = await import('./kernel/background.ts');
  const runtime = await createRuntime(config, { database: await database, log });
  const app = createApp(runtime);
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  runtime.log.info({ port, database: runtime.dbKind, redis: Boolean(config.REDIS_URL) }, `Paybond Gateway listening on http://localhost:${port}`);
  const stopTasks = startBackgroundTasks(runtime);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Drain: /readyz turns 503 so load balancers stop routing here, while the listener keeps
    // accepting and serving for SHUTDOWN_DRAIN_MS; then no new connections, in-flight ones finish.
    runtime.draining = true;
    runtime.log.info({ signal, drain_ms: config.SHUTDOWN_DRAIN_MS }, 'draining: /readyz answers 503, requests are still served');
    await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DRAIN_MS));
    runtime.log.info('shutting down: no new connections, finishing in-flight requests');
    const forced = setTimeout(() => {
      runtime.log.warn('grace period over; closing remaining connections');
      server.closeAllConnections();
    }, config.SHUTDOWN_GRACE_MS);
    forced.unref();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stopTasks();
    await runtime.close();
    runtime.log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`Paybond Gateway failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
