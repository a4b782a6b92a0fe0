/**
 * The Deno-native Redis client: one auto-pipelined connection that
 * authenticates, selects its database and reconnects by itself.
 *
 * @module
 */

import { backoffDelay, sleep } from "../async/backoff.ts";
import { Connection, type ConnectionStats } from "./_connection.ts";
import {
  RedisConnectionError,
  RedisError,
  RedisReplyError,
  RedisTimeoutError,
} from "./errors.ts";
import type { RedisArg, RedisReply, RedisSender } from "./types.ts";
import { sendWithWait, writeThenWait } from "./replication.ts";
import { parseRedisUrl, type RedisEndpoint } from "./url.ts";

/** How the client reconnects after the connection drops. */
export interface ReconnectOptions {
  /**
   * Connection attempts after a drop before waiting commands reject with
   * `RedisConnectionError`. The next command starts a new round.
   *
   * @default {20}
   */
  maxAttempts?: number;
  /**
   * Delay before the second attempt; it doubles with every attempt, with
   * jitter, up to `maxDelayMs`. The first attempt is immediate.
   *
   * @default {50}
   */
  baseDelayMs?: number;
  /**
   * Longest delay between two attempts.
   *
   * @default {2000}
   */
  maxDelayMs?: number;
}

/** Options of {@linkcode createRedisClient}. */
export interface RedisClientOptions {
  /**
   * Milliseconds to open the socket and finish the handshake (TLS, `AUTH`,
   * `SELECT`, `CLIENT SETNAME`).
   *
   * @default {5000}
   */
  connectTimeoutMs?: number;
  /**
   * Milliseconds to wait for each reply before the command rejects with
   * `RedisTimeoutError`; `0` waits forever.
   *
   * @default {5000}
   */
  commandTimeoutMs?: number;
  /** TLS settings for `rediss://` URLs. */
  tls?: {
    /** PEM certificates trusted in addition to the system's roots. */
    caCerts?: string[];
  };
  /** Name sent with `CLIENT SETNAME` on every (re)connect, shown by `CLIENT LIST`. */
  clientName?: string;
  /**
   * Reconnect after a dropped connection, or `false` to let every later
   * command reject instead. Defaults to
   * `{ maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 2000 }`.
   */
  reconnect?: false | ReconnectOptions;
}

/** Counters of what a client has done, for tests and monitoring. */
export interface RedisClientStats {
  /** Commands written to a socket. */
  readonly commands: number;
  /** Socket writes; auto-pipelining keeps this far below `commands` under load. */
  readonly writes: number;
  /** Successful reconnects after a dropped connection. */
  readonly reconnects: number;
}

interface Settings {
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  caCerts: string[] | undefined;
  clientName: string | undefined;
  reconnect: Required<ReconnectOptions> | false;
}

/**
 * A Redis client over one auto-pipelined connection: commands issued in the
 * same tick leave in one socket write and replies are matched in order, so
 * thousands of concurrent commands share a handful of round trips.
 *
 * Create one with {@linkcode createRedisClient}, which connects before it
 * resolves. `new RedisClient(url)` connects lazily on the first command, which
 * suits workers that should not pay for a connection they do not use.
 *
 * @example Send commands
 * ```ts ignore
 * import { createRedisClient } from "@x/redis-subjects";
 *
 * await using client = await createRedisClient("redis://localhost:6379/0");
 * await client.send(["HSET", "s:app:user-1", "pname", '"Ada"']);
 * console.log(await client.send(["HGET", "s:app:user-1", "pname"])); // "\"Ada\""
 * ```
 */
export class RedisClient implements RedisSender, AsyncDisposable {
  readonly #endpoint: RedisEndpoint;
  readonly #settings: Settings;
  readonly #stats: ConnectionStats & { reconnects: number } = {
    commands: 0,
    writes: 0,
    reconnects: 0,
  };
  #conn: Connection | null = null;
  #connecting: Promise<Connection> | null = null;
  /** Whether a connection was ever established, so a loss is a reconnect. */
  #everConnected = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Cancels backoff waits and connection attempts when the client closes. */
  readonly #abort = new AbortController();

  /**
   * Creates a client that connects on its first command.
   *
   * @param url `redis[s]://[[user]:[password]@]host[:port][/db]`.
   * @param options Timeouts, TLS, client name and reconnect policy.
   * @throws {TypeError} when the URL or an option is invalid.
   */
  constructor(url: string | URL, options?: RedisClientOptions) {
    this.#endpoint = parseRedisUrl(url);
    this.#settings = checkOptions(options ?? {});
  }

  /** The server's URL with the password replaced by `***`. */
  get url(): string {
    return this.#endpoint.redacted;
  }

  /** Counts of commands, socket writes and reconnects so far. */
  get stats(): RedisClientStats {
    return { ...this.#stats };
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether a connection is up now: a command sent now goes straight to the socket. */
  get connected(): boolean {
    return this.#conn !== null && this.#conn.usable;
  }

  /**
   * Connects now if not connected yet, making one attempt.
   *
   * @returns This client, connected.
   * @throws {RedisConnectionError} when the server cannot be reached in time.
   * @throws {RedisReplyError} when `AUTH` or `SELECT` is refused.
   */
  async connect(): Promise<this> {
    await this.#connection();
    return this;
  }

  /**
   * Sends one command. Commands sent in the same tick leave in one write.
   *
   * @param args The command name and its arguments, e.g. `["HGET", key, field]`.
   * @returns The decoded reply.
   * @throws {RedisReplyError} when the server answers with an error.
   * @throws {RedisConnectionError} when the connection drops before the reply, or the client is closed.
   * @throws {RedisTimeoutError} when no reply arrives within `commandTimeoutMs`.
   * @throws {TypeError} when an argument is not a string, finite number or `Uint8Array`.
   */
  send(args: readonly RedisArg[]): Promise<RedisReply> {
    const conn = this.#conn;
    if (conn !== null && conn.usable) return conn.send(args);
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#connection().then((c) => c.send(args));
  }

  /**
   * The library's private path for a write followed by `WAIT`, both queued
   * on one connection in one tick.
   *
   * @ignore
   */
  [sendWithWait](
    args: readonly RedisArg[],
    replicas: number,
    timeoutMs: number,
  ): Promise<RedisReply> {
    const pair = (conn: Connection) =>
      writeThenWait((a) => conn.send(a), args, replicas, timeoutMs);
    const conn = this.#conn;
    if (conn !== null && conn.usable) return pair(conn);
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#connection().then(pair);
  }

  /**
   * Waits for every reply still due, then closes the connection. Commands
   * sent afterwards reject with `RedisConnectionError`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Same as {@linkcode RedisClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Describes the client by its redacted URL. */
  toString(): string {
    return `RedisClient(${this.url})`;
  }

  /** Keeps `JSON.stringify` from reaching anything but the redacted URL. */
  toJSON(): { url: string } {
    return { url: this.url };
  }

  /** Shows only the redacted URL and state in `console.log` and `Deno.inspect`. */
  [Symbol.for("Deno.customInspect")](): string {
    const state = this.#closed
      ? "closed"
      : this.#conn?.usable
      ? "connected"
      : "disconnected";
    return `RedisClient { url: ${
      JSON.stringify(this.url)
    }, state: "${state}" }`;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    if (this.#connecting !== null) {
      await this.#connecting.catch(() => {});
    }
    const conn = this.#conn;
    this.#conn = null;
    if (conn !== null) {
      await conn.drain();
      await conn.close();
    }
  }

  #closedError(): RedisConnectionError {
    return new RedisConnectionError(
      `The client for ${this.url} is closed; create a new one.`,
    );
  }

  #connection(): Promise<Connection> {
    if (this.#conn !== null && this.#conn.usable) {
      return Promise.resolve(this.#conn);
    }
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#connecting === null) {
      if (this.#everConnected && this.#settings.reconnect === false) {
        return Promise.reject(
          new RedisConnectionError(
            `The connection to ${this.url} was lost and reconnect is disabled; create a new client.`,
          ),
        );
      }
      const attempts = this.#everConnected && this.#settings.reconnect
        ? this.#settings.reconnect.maxAttempts
        : 1;
      const connecting = this.#establish(attempts);
      this.#connecting = connecting;
      connecting.then(
        () => this.#connecting = null,
        () => this.#connecting = null,
      );
    }
    return this.#connecting;
  }

  async #establish(attempts: number): Promise<Connection> {
    const policy = this.#settings.reconnect;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0 && policy) {
        // Jitter in the upper half keeps many clients from reconnecting in step.
        await sleep(
          backoffDelay(attempt, {
            baseMs: policy.baseDelayMs,
            maxMs: policy.maxDelayMs,
            floor: 0.5,
          }),
          this.#abort.signal,
        );
      }
      if (this.#closed) throw this.#closedError();
      try {
        const conn = await this.#open();
        if (this.#closed) {
          await conn.close();
          throw this.#closedError();
        }
        if (this.#everConnected) this.#stats.reconnects++;
        this.#everConnected = true;
        this.#conn = conn;
        return conn;
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) throw error;
        lastError = error;
      }
    }
    if (this.#closed) throw this.#closedError();
    if (lastError instanceof RedisError) throw lastError;
    throw new RedisConnectionError(
      `Cannot connect to ${this.url}: ${
        lastError instanceof Error ? lastError.message : String(lastError)
      }`,
      { cause: lastError },
    );
  }

  /** Opens a socket and runs the handshake, within `connectTimeoutMs`. */
  async #open(): Promise<Connection> {
    const { hostname, port, tls } = this.#endpoint;
    const { connectTimeoutMs } = this.#settings;
    // AbortSignal.timeout rather than setTimeout: the first setTimeout of a
    // process costs milliseconds of lazy set-up, which a cold worker would
    // pay before its first reply. The signal's timer keeps nothing alive.
    const timeout = AbortSignal.timeout(connectTimeoutMs);
    const signal = AbortSignal.any([timeout, this.#abort.signal]);
    let socket: Deno.Conn;
    try {
      // TCP_NODELAY is Deno's default, which a request/reply protocol wants.
      if (tls) {
        const tlsConn = await abortable(
          Deno.connectTls({ hostname, port, caCerts: this.#settings.caCerts }),
          signal,
        );
        socket = tlsConn;
        // Verify the certificate now, so a bad one fails the connect, not a command.
        await abortable(tlsConn.handshake(), signal, tlsConn);
      } else {
        socket = await abortable(Deno.connect({ hostname, port }), signal);
      }
    } catch (cause) {
      if (cause instanceof Deno.errors.NotCapable) throw cause;
      const why = timeout.aborted
        ? `no connection within ${connectTimeoutMs} ms`
        : cause instanceof Error
        ? cause.message
        : String(cause);
      throw new RedisConnectionError(`Cannot connect to ${this.url}: ${why}`, {
        cause,
      });
    }
    const conn = new Connection(socket, {
      label: this.url,
      timeoutMs: Math.min(
        connectTimeoutMs,
        this.#settings.commandTimeoutMs || Infinity,
      ),
      stats: this.#stats,
      onDrop: () => {
        if (this.#conn === conn) this.#conn = null;
        // Reconnect eagerly, so a quiet client is ready before it is needed.
        if (!this.#closed && this.#settings.reconnect !== false) {
          this.#connection().catch(() => {});
        }
      },
    });
    try {
      await this.#handshake(conn);
    } catch (error) {
      await conn.close();
      // A server that takes the socket but does not answer the handshake
      // within the connect timeout has not been connected to.
      if (error instanceof RedisTimeoutError) {
        throw new RedisConnectionError(
          `Cannot connect to ${this.url}: ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
    return conn.withTimeout(this.#settings.commandTimeoutMs);
  }

  async #handshake(conn: Connection): Promise<void> {
    const { username, password, db } = this.#endpoint;
    const steps: Promise<RedisReply>[] = [];
    const names: string[] = [];
    if (password !== undefined) {
      steps.push(
        conn.send(
          username === undefined
            ? ["AUTH", password]
            : ["AUTH", username, password],
        ),
      );
      names.push("AUTH");
    }
    if (db !== 0) {
      steps.push(conn.send(["SELECT", db]));
      names.push("SELECT");
    }
    if (this.#settings.clientName !== undefined) {
      steps.push(conn.send(["CLIENT", "SETNAME", this.#settings.clientName]));
      names.push("CLIENT SETNAME");
    }
    if (this.#everConnected) {
      // A dying server's listening socket can still complete a TCP handshake;
      // a reply proves that a real server will serve the commands now waiting.
      steps.push(conn.send(["PING"]));
      names.push("PING");
    }
    const results = await Promise.allSettled(steps);
    for (const [i, result] of results.entries()) {
      if (result.status === "fulfilled") continue;
      const error = result.reason;
      if (error instanceof RedisReplyError) {
        throw new RedisReplyError(error.reply, {
          context: `${names[i]} failed on ${this.url}`,
          cause: error,
        });
      }
      throw error;
    }
  }
}

/**
 * Creates a client and connects it: the socket is open, `AUTH`, `SELECT` and
 * `CLIENT SETNAME` have succeeded when the promise resolves.
 *
 * @param url `redis[s]://[[user]:[password]@]host[:port][/db]`; credentials may
 * be percent-encoded, IPv6 hosts go in brackets.
 * @param options Timeouts, TLS, client name and reconnect policy.
 * @returns The connected client. Close it with `close()` or `await using`.
 * @throws {TypeError} when the URL or an option is invalid (nothing is connected).
 * @throws {RedisConnectionError} when the server cannot be reached within `connectTimeoutMs`.
 * @throws {RedisReplyError} when the server refuses the credentials or the database.
 *
 * @example Connect, write and read
 * ```ts ignore
 * import { createRedisClient } from "@x/redis-subjects";
 *
 * await using client = await createRedisClient("redis://localhost:6379/0", {
 *   clientName: "billing-worker",
 * });
 * await client.send(["SET", "greeting", "hello"]);
 * console.log(await client.send(["GET", "greeting"])); // "hello"
 * ```
 */
export async function createRedisClient(
  url: string | URL,
  options?: RedisClientOptions,
): Promise<RedisClient> {
  const client = new RedisClient(url, options);
  await client.connect();
  return client;
}

function checkOptions(options: RedisClientOptions): Settings {
  const connectTimeoutMs = checkNumber(
    "connectTimeoutMs",
    options.connectTimeoutMs,
    5000,
    1,
  );
  const commandTimeoutMs = checkNumber(
    "commandTimeoutMs",
    options.commandTimeoutMs,
    5000,
    0,
  );
  const caCerts = options.tls?.caCerts;
  if (
    caCerts !== undefined &&
    (!Array.isArray(caCerts) || caCerts.some((c) => typeof c !== "string"))
  ) {
    throw new TypeError("tls.caCerts must be an array of PEM strings.");
  }
  if (
    options.clientName !== undefined && !/^[!-~]+$/.test(options.clientName)
  ) {
    throw new TypeError(
      "clientName must be printable ASCII without spaces, as CLIENT SETNAME requires.",
    );
  }
  let reconnect: Settings["reconnect"] = false;
  if (options.reconnect !== false) {
    const r = options.reconnect ?? {};
    reconnect = {
      maxAttempts: checkNumber("reconnect.maxAttempts", r.maxAttempts, 20, 1),
      baseDelayMs: checkNumber("reconnect.baseDelayMs", r.baseDelayMs, 50, 0),
      maxDelayMs: checkNumber("reconnect.maxDelayMs", r.maxDelayMs, 2000, 0),
    };
  }
  return {
    connectTimeoutMs,
    commandTimeoutMs,
    caCerts,
    clientName: options.clientName,
    reconnect,
  };
}

function checkNumber(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new TypeError(`${name} must be a number ≥ ${min}, got ${value}.`);
  }
  return value;
}

/** Settles with `promise`, or rejects when `signal` aborts; a late socket is closed. */
function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  owned?: Deno.Conn,
): Promise<T> {
  if (signal.aborted) {
    promise.then((v) => closeQuietly(owned ?? v), () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    let lost = false;
    const onAbort = () => {
      lost = true;
      if (owned) closeQuietly(owned);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        if (lost) closeQuietly(owned ?? value);
        else resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        if (!lost) reject(error);
      },
    );
  });
}

function closeQuietly(value: unknown): void {
  try {
    (value as Deno.Conn | undefined)?.close?.();
  } catch {
    // Already closed.
  }
}
