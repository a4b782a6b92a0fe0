/**
 * Throwaway `redis-server` processes for tests, demos and benchmarks: each
 * on a free port, with its own temporary directory and configuration.
 *
 * @module
 */

import { forEachLine } from "./_output.ts";
import { freePort, portWasTaken } from "./_ports.ts";

/** TLS files for a server that only accepts `rediss://` connections. */
export interface RedisServerTlsOptions {
  /** Path of the server's PEM certificate. */
  certFile: string;
  /** Path of the server's PEM private key. */
  keyFile: string;
  /** Path of the PEM CA certificate that signed client certificates (required by redis-server). */
  caCertFile: string;
}

/** Options of {@linkcode startRedisServer}. */
export interface RedisServerOptions {
  /**
   * Extra `redis.conf` lines, e.g. `"requirepass s3cret"`, `"appendonly yes"`,
   * `"user alice on >pw ~s:* +hget"`, `"cluster-enabled yes"`.
   *
   * @default {[]}
   */
  config?: readonly string[];
  /** Serve TLS only, on the chosen port, with these files; the URL becomes `rediss://`. */
  tls?: RedisServerTlsOptions;
  /**
   * Run as a Sentinel (`redis-server <conf> --sentinel`); `config` then
   * carries the `sentinel monitor …` lines. A Sentinel's URL names no
   * database. {@linkcode startRedisSentinel} sets one up for you.
   *
   * @default {false}
   */
  sentinel?: boolean;
  /**
   * The port to listen on; by default a free one is picked.
   */
  port?: number;
  /**
   * The `redis-server` executable.
   *
   * @default {"redis-server"}
   */
  binary?: string;
  /**
   * Milliseconds to wait for "Ready to accept connections".
   *
   * @default {10000}
   */
  startTimeoutMs?: number;
}

/** A running throwaway server. Dispose of it (or `stop()` it) to remove it. */
export interface RedisServer extends AsyncDisposable {
  /** `redis://127.0.0.1:PORT/0`, or `rediss://localhost:PORT/0` with TLS. */
  readonly url: string;
  /** The port the server listens on; it stays the same across `restart()`. */
  readonly port: number;
  /** The server's working directory (AOF and RDB files live here). */
  readonly dir: string;
  /** Process id of the current `redis-server`, or `undefined` while it is down. */
  readonly pid: number | undefined;
  /** Shuts the server down with SIGTERM, waits for it, and deletes its directory. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, as a crash would; the directory stays for `restart()`. */
  kill(): Promise<void>;
  /** Freezes the server with SIGSTOP: connections stay open, nothing is answered. */
  pause(): void;
  /** Thaws a paused server with SIGCONT. */
  resume(): void;
  /** Starts the server again on the same port and directory, after `kill()` or while running. */
  restart(): Promise<void>;
}

/**
 * Starts a `redis-server` on a free loopback port with its own temporary
 * directory, and resolves once it accepts connections.
 *
 * Needs `--allow-run=redis-server`, `--allow-net=127.0.0.1` (to find a free
 * port) and `--allow-read`/`--allow-write` for the temporary directory.
 *
 * @param options Extra configuration lines, TLS files, port and binary.
 * @returns A handle to stop, kill, pause, resume or restart the server.
 * @throws {Error} with one sentence on how to install Redis when `redis-server` is missing.
 *
 * @example A server for one test
 * ```ts
 * import { startRedisServer } from "@x/redis-subjects/testing";
 * import { createRedisClient } from "@x/redis-subjects";
 *
 * await using server = await startRedisServer({ config: ["requirepass pw"] });
 * await using client = await createRedisClient(
 *   server.url.replace("redis://", "redis://:pw@"),
 * );
 * await client.send(["PING"]);
 * ```
 */
export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServer> {
  // A port chosen here can still be taken before the server binds it; then
  // another one is tried. A port the caller chose is theirs to manage.
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(options, options.port ?? freePort());
    } catch (error) {
      if (options.port !== undefined || attempt >= 5 || !portWasTaken(error)) {
        throw error;
      }
    }
  }
}

async function startOnce(
  options: RedisServerOptions,
  port: number,
): Promise<RedisServer> {
  const binary = options.binary ?? "redis-server";
  const dir = await Deno.makeTempDir({ prefix: "redis-subjects-" });
  const lines = [
    "bind 127.0.0.1 -::1",
    "protected-mode no",
    `dir ${dir}`,
    'logfile ""',
    "daemonize no",
    'save ""',
    "appendonly no",
    ...(options.tls
      ? [
        "port 0",
        `tls-port ${port}`,
        `tls-cert-file ${options.tls.certFile}`,
        `tls-key-file ${options.tls.keyFile}`,
        `tls-ca-cert-file ${options.tls.caCertFile}`,
        "tls-auth-clients no",
      ]
      : [`port ${port}`]),
    // Later lines win, so the caller's settings override the defaults above.
    ...(options.config ?? []),
  ];
  const configFile = `${dir}/redis.conf`;
  await Deno.writeTextFile(configFile, lines.join("\n") + "\n");
  const sentinel = options.sentinel ?? false;
  const server = new ThrowawayServer(
    binary,
    sentinel ? [configFile, "--sentinel"] : [configFile],
    dir,
    port,
    `${options.tls ? "rediss://localhost" : "redis://127.0.0.1"}:${port}${
      sentinel ? "" : "/0"
    }`,
    options.startTimeoutMs ?? 10_000,
    // A Sentinel never says "Ready to accept connections"; it names itself
    // once it listens.
    sentinel ? "Sentinel ID is" : "Ready to accept connections",
  );
  try {
    await server.start();
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  return server;
}

class ThrowawayServer implements RedisServer {
  #process: Deno.ChildProcess | undefined;
  /** Drains the server's output so it never blocks on a full pipe. */
  #output: Promise<void> = Promise.resolve();
  #log: string[] = [];
  #stopped = false;

  constructor(
    readonly binary: string,
    readonly args: readonly string[],
    readonly dir: string,
    readonly port: number,
    readonly url: string,
    readonly startTimeoutMs: number,
    readonly readyLine: string,
  ) {}

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  async start(): Promise<void> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.binary, {
        args: [...this.args],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error(
          `${this.binary} is not installed; install Redis (e.g. "apt-get install -y redis-server" or "brew install redis") or set REDIS_URL.`,
        );
      }
      throw error;
    }
    this.#process = child;
    this.#log = [];
    const { promise: ready, resolve: onReady } = Promise.withResolvers<
      boolean
    >();
    this.#output = forEachLine(child, (line) => {
      this.#log.push(line);
      if (this.#log.length > 200) this.#log.shift();
      if (line.includes(this.readyLine)) onReady(true);
    }).then(() => onReady(false));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.startTimeoutMs);
    });
    const outcome = await Promise.race([ready, timedOut]);
    clearTimeout(timer);
    if (outcome !== true) {
      if (outcome === "timeout") child.kill("SIGKILL");
      await child.status;
      await this.#output;
      this.#process = undefined;
      throw new Error(
        `${this.binary} on port ${this.port} did not start ${
          outcome === "timeout"
            ? `within ${this.startTimeoutMs} ms`
            : "(it exited)"
        }; its last output:\n${this.#log.slice(-15).join("\n")}`,
      );
    }
  }

  async #signal(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const child = this.#process;
    if (child === undefined) return;
    this.#process = undefined;
    try {
      // A paused server must run again to act on SIGTERM; SIGKILL needs no help.
      if (signal === "SIGTERM") child.kill("SIGCONT");
      child.kill(signal);
    } catch {
      // It exited already.
    }
    await child.status;
    await this.#output;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#signal("SIGTERM");
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  kill(): Promise<void> {
    return this.#signal("SIGKILL");
  }

  pause(): void {
    this.#process?.kill("SIGSTOP");
  }

  resume(): void {
    this.#process?.kill("SIGCONT");
  }

  async restart(): Promise<void> {
    await this.#signal("SIGTERM");
    await this.start();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
