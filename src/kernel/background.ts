import type { Runtime } from '../context.ts';

/**
 * Periodic work a serving gateway process does besides answering requests (resuming export jobs,
 * deleting expired bundles, signing scheduled checkpoints). Areas register tasks at import, like
 * domain-event observers; src/main.ts starts them once the server listens and stops them before
 * the database closes. Every node runs every task: tasks coordinate through the database.
 */
export interface BackgroundTask {
  name: string;
  intervalMs: number;
  run(runtime: Runtime): Promise<void>;
  /** Let go of work in progress at shutdown (e.g. hand a job's lease back). */
  stop?(runtime: Runtime): Promise<void>;
}

const tasks = new Map<string, BackgroundTask>();

export function registerBackgroundTask(task: BackgroundTask): void {
  if (tasks.has(task.name)) throw new Error(`background task ${task.name} is already registered`);
  tasks.set(task.name, task);
}

/** Run every registered task now and then every intervalMs (never two runs of one task at once). Returns stop(). */
export function startBackgroundTasks(runtime: Runtime): () => Promise<void> {
  let stopped = false;
  const sleeping = new Set<() => void>();
  const loops = [...tasks.values()].map(async (task) => {
    while (!stopped) {
      try {
        await task.run(runtime);
      } catch (error) {
        runtime.log.error({ err: error, task: task.name }, 'background task failed');
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          sleeping.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, task.intervalMs);
        timer.unref();
        sleeping.add(wake);
      });
    }
  });
  return async () => {
    stopped = true;
    for (const wake of [...sleeping]) wake();
    await Promise.all(loops);
    for (const task of tasks.values()) await task.stop?.(runtime).catch((error: unknown) => runtime.log.error({ err: error, task: task.name }, 'background task stop failed'));
  };
}
