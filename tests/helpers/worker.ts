/**
 * Runs `examples/worker.ts` under `deno serve` in child processes, each on a
 * port the OS picks, for the worker and load tests.
 *
 * @module
 */

import { forEachLine } from "../../src/testing/_output.ts";

const WORKER = new URL("../../examples/worker.ts", import.meta.url);
/** Bounds on start-up and shutdown, so a broken worker fails the test instead of hanging it. */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** Running worker processes; disposing of them stops each and waits for it. */
export interface WorkerFleet extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` of each worker. */
  readonly origins: readonly string[];
  /** Sends a signal to every worker, as a platform stopping them does. */
  signal(name: Deno.Signal): void;
  /** Resolves once every worker exited, with its status and last output lines. */
  exited(): Promise<{ status: Deno.CommandStatus; output: string }[]>;
  /**
   * Resolves with the first line a worker prints from now on that matches
   * `pattern`; rejects if every worker exits first.
   */
  printed(pattern: RegExp): Promise<RegExpMatchArray>;
}

interface Running {
  readonly child: Deno.ChildProcess;
  readonly output: Promise<string>;
}

/**
 * Starts `count` workers with `deno serve --port 0` and resolves once each
 * has printed the address it listens on.
 *
 * @param count How many processes.
 * @param env `REDIS_URL` and `REDIS_KEY_PREFIX` for the workers, and any
 * other variables they should see (`OTEL_*`).
 * @param options `clearEnv`: give the workers only `env`, nothing inherited
 * (so no `OTEL_*` setting or secret of the test's own environment leaks in).
 * @returns The workers; dispose of them to stop them.
 */
export async function startWorkers(
  count: number,
  env: { REDIS_URL: string; REDIS_KEY_PREFIX: string } & Record<string, string>,
  options: { clearEnv?: boolean } = {},
): Promise<WorkerFleet> {
  const running: Running[] = [];
  const watchers = new Set<(line: string) => void>();
  const stop = async () => {
    const stuck: string[] = [];
    await Promise.all(running.map(async ({ child, output }) => {
      // SIGTERM is how a platform stops a worker; it must exit by itself.
      signal(child, "SIGTERM");
      const guard = setTimeout(() => {
        stuck.push(`worker ${child.pid} ignored SIGTERM`);
        signal(child, "SIGKILL");
      }, STOP_TIMEOUT_MS);
      await child.status;
      clearTimeout(guard);
      await output;
    }));
    if (stuck.length > 0) throw new Error(stuck.join("; "));
  };
  try {
    const origins = await Promise.all(
      Array.from({ length: count }, () => {
        // By name, as `--allow-run=deno` grants.
        const child = new Deno.Command("deno", {
          args: [
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--allow-env=REDIS_URL,REDIS_KEY_PREFIX",
            "--allow-net=127.0.0.1",
            WORKER.href,
          ],
          env,
          clearEnv: options.clearEnv ?? false,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const { promise, resolve, reject } = Promise.withResolvers<string>();
        const output = collect(child, (line) => {
          const found = line.match(/Listening on (http:\/\/127\.0\.0\.1:\d+)/);
          if (found !== null) resolve(found[1]);
          watchers.forEach((watch) => watch(line));
        }).then((text) => {
          reject(new Error(`deno serve exited before listening:\n${text}`));
          return text;
        });
        running.push({ child, output });
        const guard = setTimeout(() => {
          reject(
            new Error(
              `deno serve did not listen within ${START_TIMEOUT_MS} ms`,
            ),
          );
        }, START_TIMEOUT_MS);
        return promise.finally(() => clearTimeout(guard));
      }),
    );
    return {
      origins,
      signal: (name) => running.forEach(({ child }) => signal(child, name)),
      exited: () =>
        Promise.all(running.map(async ({ child, output }) => ({
          status: await child.status,
          output: await output,
        }))),
      printed: (pattern) => {
        const { promise, resolve, reject } = Promise.withResolvers<
          RegExpMatchArray
        >();
        const watch = (line: string) => {
          const found = line.match(pattern);
          if (found === null) return;
          watchers.delete(watch);
          resolve(found);
        };
        watchers.add(watch);
        Promise.all(running.map(({ output }) => output)).then(() => {
          watchers.delete(watch);
          reject(new Error(`no worker printed ${pattern} before exiting`));
        });
        return promise;
      },
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // It exited already.
  }
}

/** Reads stdout and stderr to the end, calling `onLine` per line; returns the last lines. */
async function collect(
  child: Deno.ChildProcess,
  onLine: (line: string) => void,
): Promise<string> {
  const lines: string[] = [];
  await forEachLine(child, (line) => {
    lines.push(line);
    if (lines.length > 50) lines.shift();
    onLine(line);
  });
  return lines.join("\n");
}
