/**
 * The Deno-native Redis client: one auto-pipelined connection that
 * authenticates, selects its database and reconnects by itself.
 *
 * @module
 */

import { backoffDelay, sleep } from "../async/backoff.ts";
import { Connection, type ConnectionStats } from "./_connection.ts";
import { handshake, message, openSocket, RETRYABLE } from "./_handshake.ts";
import { OfflineQueue } from "./_offline_queue.ts";
import {
  checkOptions,
  type RedisClientOptions,
  type Settings,
} from "./_options.ts";
import { refusal } from "./_guard.ts";
import { secretsOf } from "./_scrub.ts";
import {
  type ClientTelemetry,
  clientTelemetry,
} from "../telemetry/client_telemetry.ts";
import { RedisConnectionError, RedisError, RedisReplyError } from "./errors.ts";
import {
  type RedisClientEvent,
  RedisConnectEvent,
  RedisDisconnectEvent,
  RedisErrorEvent,
  RedisEventTarget,
  RedisReconnectingEvent,
} from "./events.ts";
import type { RedisArg, RedisReply, RedisSender } from "./types.ts";
import { sendWithWait, writeThenWait } from "./replication.ts";
import { parseRedisUrl, type RedisEndpoint } from "./url.ts";

export type { ReconnectOptions, RedisClientOptions } from "./_options.ts";

/** Counters of what a client has done, for tests and monitoring. */
export interface RedisClientStats {
  /** Commands written to a socket. */
  readonly commands: number;
  /** Socket writes; auto-pipelining keeps this far below `commands` under load. */
  readonly writes: number;
  /** Successful reconnects after a dropped connection. */
  readonly reconnects: number;
}

/** Set while `duplicate()` constructs a client that skips the guard. */
let dedicating = false;

/** Set by `RedisClient`, which alone can reach its private send. */
let unguarded: (
  client: RedisClient,
  args: readonly RedisArg[],
) => Promise<RedisReply>;

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
 * ```ts
 * import { createRedisClient } from "@x/redis-subjects";
 *
 * await using client = await createRedisClient("redis://localhost:6379/0");
 * await client.send(["HSET", "s:app:user-1", "pname", '"Ada"']);
 * console.log(await client.send(["HGET", "s:app:user-1", "pname"])); // "\"Ada\""
 * ```
 */
export class RedisClient extends RedisEventTarget
  implements RedisSender, AsyncDisposable {
  static {
    unguarded = (client, args) => client.#traced(args);
  }
  /** The URL and options as given, for `duplicate()`; never shown. */
  readonly #given: { url: string | URL; options: RedisClientOptions };
  /** Whether `send()` refuses commands that would break a shared connection. */
  readonly #guarded: boolean;
  readonly #endpoint: RedisEndpoint;
  /** `null` unless Deno exports telemetry; then every command gets a span. */
  readonly #telemetry: ClientTelemetry | null;
  readonly #settings: Settings;
  readonly #stats: ConnectionStats & { reconnects: number } = {
    commands: 0,
    writes: 0,
    reconnects: 0,
  };
  #conn: Connection | null = null;
  #connecting: Promise<Connection> | null = null;
  /** Commands sent while no connection was up, oldest first. */
  /** Commands sent while no connection was up, oldest first. */
  readonly #offline = new OfflineQueue(() => {
    const last = this.#lastConnectError;
    return new RedisConnectionError(
      `No connection to ${this.url} within ${this.#settings.commandTimeoutMs} ms; the command was not sent${
        last === undefined ? "" : ` (last attempt: ${message(last)})`
      }. The client keeps reconnecting in the background.`,
      { ...causeOf(last), executed: "no" },
    );
  });
  /** Why the last connection attempt failed, for the errors of waiting commands. */
  #lastConnectError: unknown = undefined;
  /** Ends a backoff wait early when a command starts waiting. */
  #wake: AbortController | null = null;
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
    super();
    this.#endpoint = parseRedisUrl(url);
    this.#settings = checkOptions(options ?? {});
    this.#given = { url, options: { ...options } };
    this.#guarded = !dedicating;
    this.#telemetry = clientTelemetry(
      this,
      this.#endpoint,
      options?.telemetry,
    );
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
   * `commandTimeoutMs` counts from this call until the returned promise
   * settles. While the client is disconnected the command waits (at most
   * `maxPendingCommands` of them) for the reconnect going on in the
   * background; if its time runs out first it rejects with
   * `RedisConnectionError`, the last connect error as `cause`, and was never
   * sent.
   *
   * @param args The command name and its arguments, e.g. `["HGET", key, field]`.
   * @returns The decoded reply.
   * @throws {RedisReplyError} when the server answers with an error.
   * @throws {RedisConnectionError} when no connection came up in time, the
   * connection dropped before the reply, too many commands already wait for a
   * connection, or the client is closed.
   * @throws {RedisTimeoutError} when no reply arrives within `commandTimeoutMs`.
   * @throws {TypeError} when an argument is not a string, finite number or `Uint8Array`.
   */
  send(args: readonly RedisArg[]): Promise<RedisReply> {
    if (this.#guarded) {
      const refused = refusal(args);
      if (refused !== undefined) return Promise.reject(refused);
    }
    return this.#traced(args);
  }

  /** Sends `args`, in a span when Deno exports telemetry. */
  #traced(args: readonly RedisArg[]): Promise<RedisReply> {
    const telemetry = this.#telemetry;
    return telemetry === null
      ? this.#send(args)
      : telemetry.command(args, this.#send(args));
  }

  /**
   * Opens a new client with its own connection to the same server, with the
   * same options except those given. Its `send()` takes every command, those
   * a shared client refuses included: transactions (`MULTI`/`EXEC`, `WATCH`),
   * blocking reads (`BLPOP`, `XREAD BLOCK`), `SELECT`. For blocking commands,
   * give it a `commandTimeoutMs` longer than they block, or `0`.
   *
   * @param options Options that differ from this client's.
   * @returns The new client, connected. Close it when done.
   * @throws {RedisConnectionError} when the server cannot be reached in time.
   *
   * @example A transaction on its own connection
   * ```ts
   * import type { RedisClient } from "@x/redis-subjects";
   * declare const client: RedisClient;
   *
   * await using own = await client.duplicate();
   * await Promise.all([
   *   own.send(["MULTI"]),
   *   own.send(["INCR", "visits"]),
   *   own.send(["EXEC"]),
   * ]);
   * ```
   */
  async duplicate(options?: RedisClientOptions): Promise<RedisClient> {
    const client = newDedicatedClient(this.#given.url, {
      ...this.#given.options,
      ...options,
    });
    return await client.connect();
  }

  #send(args: readonly RedisArg[]): Promise<RedisReply> {
    const conn = this.#conn;
    if (conn !== null && conn.usable) return conn.send(args);
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#waitForConnection(args);
  }

  /**
   * The library's private path for a write followed by `WAIT`: both go
   * through the unguarded send in one tick, so they are queued on one
   * connection (or wait for the next together) and leave in one write.
   *
   * @ignore
   */
  [sendWithWait](
    args: readonly RedisArg[],
    replicas: number,
    timeoutMs: number,
  ): Promise<RedisReply> {
    const guarded = refusal(args);
    if (guarded !== undefined) return Promise.reject(guarded);
    return writeThenWait((a) => this.#traced(a), args, replicas, timeoutMs);
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
  override toString(): string {
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
    this.#failWaiting(this.#closedError());
    if (this.#connecting !== null) {
      await this.#connecting.catch(() => {});
    }
    const conn = this.#conn;
    this.#conn = null;
    if (conn !== null) {
      await conn.drain();
      await conn.close();
      this.#emit(
        new RedisDisconnectEvent({ address: this.#address, cause: undefined }),
      );
    }
  }

  /** `host:port` of the server, as events name it. */
  get #address(): string {
    const { hostname, port } = this.#endpoint;
    return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  }

  #emit(event: RedisClientEvent): void {
    this.dispatchEvent(event);
  }

  #closedError(): RedisConnectionError {
    return new RedisConnectionError(
      `The client for ${this.url} is closed; create a new one.`,
      { executed: "no" },
    );
  }

  /** Queues a command until a connection is up, within its deadline. */
  #waitForConnection(args: readonly RedisArg[]): Promise<RedisReply> {
    const { maxPendingCommands, commandTimeoutMs } = this.#settings;
    if (this.#offline.length >= maxPendingCommands) {
      return Promise.reject(
        new RedisConnectionError(
          `${this.url} is not connected and maxPendingCommands (${maxPendingCommands}) commands already wait for a connection; ` +
            `this one was not sent. Raise maxPendingCommands, or send less while Redis is unreachable.`,
          { ...causeOf(this.#lastConnectError), executed: "no" },
        ),
      );
    }
    const deadline = commandTimeoutMs > 0
      ? performance.now() + commandTimeoutMs
      : Infinity;
    const promise = this.#offline.add(args, deadline);
    // A command that waits wants an attempt now, not after the backoff.
    if (this.#offline.length === 1) this.#wake?.abort();
    this.#connection().catch(() => {});
    return promise;
  }

  #failWaiting(error: unknown): void {
    this.#offline.failAll(error);
  }

  #connection(): Promise<Connection> {
    if (this.#conn !== null && this.#conn.usable) {
      return Promise.resolve(this.#conn);
    }
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#connecting === null) {
      if (this.#everConnected && this.#settings.reconnect === false) {
        const error = new RedisConnectionError(
          `The connection to ${this.url} was lost and reconnect is disabled; create a new client.`,
          { executed: "no" },
        );
        this.#failWaiting(error);
        return Promise.reject(error);
      }
      const attempts = this.#everConnected && this.#settings.reconnect
        ? this.#settings.reconnect.maxAttempts
        : 1;
      const connecting = this.#establish(attempts);
      this.#connecting = connecting;
      connecting.then(
        () => this.#connecting = null,
        (error) => {
          this.#connecting = null;
          // The round is over: what still waits gets its last error now.
          this.#failWaiting(error);
        },
      );
    }
    return this.#connecting;
  }

  async #establish(attempts: number): Promise<Connection> {
    const policy = this.#settings.reconnect;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      // Jitter in the upper half keeps many clients from reconnecting in step.
      const delayMs = attempt > 0 && policy
        ? backoffDelay(attempt, {
          baseMs: policy.baseDelayMs,
          maxMs: policy.maxDelayMs,
          floor: 0.5,
        })
        : 0;
      if (this.#everConnected) {
        this.#emit(
          new RedisReconnectingEvent({
            address: this.#address,
            attempt: attempt + 1,
            delayMs,
          }),
        );
      }
      if (attempt > 0 && policy) {
        const wake = new AbortController();
        this.#wake = wake;
        await sleep(
          delayMs,
          AbortSignal.any([this.#abort.signal, wake.signal]),
        );
        this.#wake = null;
      }
      if (this.#closed) throw this.#closedError();
      try {
        const conn = await this.#open();
        if (this.#closed) {
          await conn.close();
          throw this.#closedError();
        }
        const reconnect = this.#everConnected;
        if (reconnect) this.#stats.reconnects++;
        this.#everConnected = true;
        this.#lastConnectError = undefined;
        this.#conn = conn;
        // Now, before any later send() can write ahead of them.
        this.#offline.handTo(conn);
        this.#emit(
          new RedisConnectEvent({ address: this.#address, reconnect }),
        );
        return conn;
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) throw error;
        lastError = error;
        this.#lastConnectError = error;
        if (error instanceof Error && !this.#closed) {
          this.#emit(new RedisErrorEvent({ address: this.#address, error }));
        }
        // A server that refuses the credentials or the database will refuse
        // them again: the commands waiting get its answer now.
        if (error instanceof RedisReplyError && !RETRYABLE.has(error.code)) {
          throw error;
        }
      }
    }
    if (this.#closed) throw this.#closedError();
    if (lastError instanceof RedisError) throw lastError;
    throw new RedisConnectionError(
      `Cannot connect to ${this.url}: ${message(lastError)}`,
      { cause: lastError },
    );
  }

  /** Opens a socket and runs the handshake, within `connectTimeoutMs`. */
  async #open(): Promise<Connection> {
    const deadline = performance.now() + this.#settings.connectTimeoutMs;
    const socket = await openSocket(
      this.#endpoint,
      this.#settings,
      this.#abort.signal,
    );
    const conn = new Connection(socket, {
      label: this.url,
      timeoutMs: this.#settings.commandTimeoutMs,
      secrets: secretsOf(this.#endpoint.username, this.#endpoint.password),
      stats: this.#stats,
      onDrop: (cause) => {
        if (this.#conn === conn) {
          this.#conn = null;
          this.#emit(
            new RedisDisconnectEvent({ address: this.#address, cause }),
          );
        }
        // Reconnect eagerly, so a quiet client is ready before it is needed.
        if (!this.#closed && this.#settings.reconnect !== false) {
          this.#connection().catch(() => {});
        }
      },
    });
    await handshake(conn, this.#endpoint, this.#settings, deadline);
    return conn;
  }
}

/**
 * Creates a (lazily connecting) client whose `send()` takes every command:
 * a dedicated connection, as `duplicate()` gives. Not exported from the
 * package.
 *
 * @param url The server's URL.
 * @param options The client's options.
 * @returns The client, not connected yet.
 */
export function newDedicatedClient(
  url: string | URL,
  options?: RedisClientOptions,
): RedisClient {
  dedicating = true;
  try {
    return new RedisClient(url, options);
  } finally {
    dedicating = false;
  }
}

/**
 * Sends a command that `send()` refuses on a shared connection, for this
 * library's own uses (`WAIT` and `ROLE` after a write, say). Not exported
 * from the package: application code uses `duplicate()`.
 *
 * @param client The client.
 * @param args The command and its arguments.
 * @returns The reply.
 */
export function sendUnguarded(
  client: RedisClient,
  args: readonly RedisArg[],
): Promise<RedisReply> {
  return unguarded(client, args);
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
 * ```ts
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

/** `{ cause }` when there is one, so that an error without one has no `cause` key. */
function causeOf(cause: unknown): ErrorOptions | undefined {
  return cause === undefined ? undefined : { cause };
}
