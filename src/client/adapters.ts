/**
 * Adapters that turn other Redis clients into {@linkcode RedisSender}, so
 * applications can keep the client they already have. They are typed by shape
 * only and import nothing from those packages, so this module stays free of
 * dependencies.
 *
 * @module
 */

import { commandKey } from "./_slot.ts";
import {
  RedisConnectionError,
  RedisReplyError,
  RedisTimeoutError,
} from "./errors.ts";
import type { RedisArg, RedisReply, RedisSender } from "./types.ts";

/**
 * The part of a node-redis v5 client (`createClient()` from `npm:redis`) that
 * {@linkcode fromNodeRedis} uses.
 */
export interface NodeRedisClient {
  /** Sends one command given as strings and buffers. */
  sendCommand(
    args: ReadonlyArray<string | Uint8Array>,
    options?: unknown,
  ): Promise<unknown>;
  /** Whether the socket is open; used to recognise the client. */
  readonly isOpen: boolean;
  /** Whether the client is ready for commands; used to recognise the client. */
  readonly isReady: boolean;
}

/**
 * The part of a node-redis v5 cluster client (`createCluster()` from
 * `npm:redis`) that {@linkcode fromNodeRedis} uses. Its `sendCommand` takes
 * the routing key first.
 */
export interface NodeRedisCluster {
  /** Sends one command to the master that owns `firstKey`'s slot. */
  sendCommand(
    firstKey: string | Uint8Array | undefined,
    isReadonly: boolean | undefined,
    args: Array<string | Uint8Array>,
    options?: unknown,
  ): Promise<unknown>;
  /** Whether the cluster client is open; used to recognise it. */
  readonly isOpen: boolean;
  /** The cluster's masters; used to tell a cluster from a single client. */
  readonly masters: readonly unknown[];
}

/**
 * The part of an ioredis v5 client (`new Redis()` or `new Cluster()` from
 * `npm:ioredis`) that {@linkcode fromIoredis} uses.
 */
export interface IoredisClient {
  /**
   * Sends any command: `call("HGET", key, field)`. Binary arguments are
   * passed as `Buffer`s, which ioredis accepts wherever it takes strings.
   */
  call(command: string, ...args: string[]): Promise<unknown>;
  /** The connection status (`"ready"`, `"connecting"`, …); used to recognise the client. */
  readonly status: string;
}

/**
 * The part of an `@db/redis` client (`connect()` from `jsr:@db/redis`,
 * including its cluster client) that {@linkcode fromDenoRedis} uses.
 */
export interface DenoRedisClient {
  /** Sends one command: `sendCommand("HGET", [key, field])`. */
  sendCommand(
    command: string,
    args?: (string | number | Uint8Array)[],
  ): Promise<unknown>;
  /** Whether the connection is up; used to recognise the client. */
  readonly isConnected: boolean;
}

/**
 * Every client that {@linkcode toRedisSender} (and so `createRedisStorage`)
 * accepts besides a {@linkcode RedisSender}.
 */
export type SupportedClient =
  | NodeRedisClient
  | NodeRedisCluster
  | IoredisClient
  | DenoRedisClient;

const decoder = new TextDecoder();

/**
 * Adapts a node-redis v5 client or cluster client (`npm:redis`). Cluster
 * commands are routed by their first key, found as this module's own cluster
 * client finds it, and always go to masters, so reads see every write.
 *
 * @param client A connected `createClient()` or `createCluster()` client.
 * @returns A port over it; closing the client stays the caller's job.
 *
 * @example
 * ```ts ignore
 * import { createClient } from "redis";
 * import { createRedisStorage, fromNodeRedis } from "@x/redis-subjects";
 *
 * const client = await createClient({ url: "redis://localhost:6379" }).connect();
 * const storage = createRedisStorage(fromNodeRedis(client));
 * ```
 */
export function fromNodeRedis(
  client: NodeRedisClient | NodeRedisCluster,
): RedisSender {
  if (isNodeRedisCluster(client)) {
    return {
      send: (args) =>
        sendConverted(args, (strings) => {
          const key = commandKey(args);
          return client.sendCommand(
            key === undefined ? undefined : nodeArg(key),
            false,
            strings,
          );
        }),
    };
  }
  return {
    send: (args) =>
      sendConverted(args, (strings) => client.sendCommand(strings)),
  };
}

/**
 * Adapts an ioredis v5 client or cluster client (`npm:ioredis`), through its
 * `call` method. Its `keyPrefix` option, if set, still applies to keys.
 *
 * @param client A `new Redis()` or `new Cluster()` client.
 * @returns A port over it; closing the client stays the caller's job.
 *
 * @example
 * ```ts ignore
 * import Redis from "ioredis";
 * import { createRedisStorage, fromIoredis } from "@x/redis-subjects";
 *
 * const client = new Redis("redis://localhost:6379");
 * const storage = createRedisStorage(fromIoredis(client));
 * ```
 */
export function fromIoredis(client: IoredisClient): RedisSender {
  return {
    send: (args) =>
      sendConverted(args, ([name, ...rest]) =>
        // ioredis rewrites the replies of some commands it knows by their
        // lower-case name (HGETALL into an object, which reorders integer-like
        // fields); upper case keeps every reply as the server sent it.
        client.call(
          (typeof name === "string" ? name : decoder.decode(name))
            .toUpperCase(),
          // Buffers included: see `IoredisClient.call`.
          ...rest as string[],
        )),
  };
}

/**
 * Adapts an `@db/redis` client (`jsr:@db/redis`), through its
 * `sendCommand(command, args)` method.
 *
 * @param client A client from `connect()`, or its cluster client.
 * @returns A port over it; closing the client stays the caller's job.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@db/redis";
 * import { createRedisStorage, fromDenoRedis } from "@x/redis-subjects";
 *
 * const client = await connect({ hostname: "localhost", port: 6379 });
 * const storage = createRedisStorage(fromDenoRedis(client));
 * ```
 */
export function fromDenoRedis(client: DenoRedisClient): RedisSender {
  return {
    send(args) {
      if (args.length === 0) {
        return Promise.reject(
          new TypeError("A Redis command needs at least its name."),
        );
      }
      const [name, ...rest] = args;
      let promise: Promise<unknown>;
      try {
        promise = client.sendCommand(
          typeof name === "string"
            ? name
            : name instanceof Uint8Array
            ? decoder.decode(name)
            : String(name),
          rest,
        );
      } catch (error) {
        return Promise.reject(error);
      }
      return settle(promise, args);
    },
  };
}

/** Adapters made so far, so one client always maps to one port. */
const adapted = new WeakMap<object, RedisSender>();

/**
 * Returns a {@linkcode RedisSender} for any supported client: a
 * `RedisSender` (this module's clients, or your own) as it is; a node-redis,
 * ioredis or `@db/redis` client, single or cluster, recognised by its shape
 * and adapted. The same client always yields the same port.
 *
 * @param client The client to use.
 * @returns A port over it.
 * @throws {TypeError} listing what is accepted when `client` is none of these.
 *
 * @example
 * ```ts
 * import { toRedisSender, type RedisSender } from "@x/redis-subjects";
 *
 * const own: RedisSender = { send: () => Promise.resolve("PONG") };
 * console.log(toRedisSender(own) === own); // true
 * ```
 */
export function toRedisSender(
  client: RedisSender | SupportedClient,
): RedisSender {
  if (typeof client !== "object" || client === null) {
    throw unsupported(client);
  }
  if (typeof (client as Partial<RedisSender>).send === "function") {
    return client as RedisSender;
  }
  const known = adapted.get(client);
  if (known !== undefined) return known;
  const adapter = adapt(client);
  adapted.set(client, adapter);
  return adapter;
}

function adapt(client: object): RedisSender {
  const shape = client as Record<string, unknown>;
  // ioredis first: its clients also have a (Command-object) sendCommand.
  if (typeof shape.call === "function" && typeof shape.status === "string") {
    return fromIoredis(client as IoredisClient);
  }
  if (typeof shape.sendCommand === "function") {
    if ("isOpen" in client) {
      if (isNodeRedisCluster(client) || "isReady" in client) {
        return fromNodeRedis(client as NodeRedisClient);
      }
    }
    if ("isConnected" in client) {
      return fromDenoRedis(client as DenoRedisClient);
    }
  }
  throw unsupported(client);
}

function unsupported(client: unknown): TypeError {
  const what = client === null
    ? "null"
    : typeof client === "object"
    ? `an object with keys [${
      Object.keys(client as object).slice(0, 8).join(", ")
    }]`
    : typeof client;
  return new TypeError(
    `Expected a Redis client, got ${what}. Pass one of: this module's RedisClient or RedisClusterClient ` +
      "(or any object with a send(args) method), a node-redis v5 createClient() or createCluster() client, " +
      "an ioredis v5 Redis or Cluster, or an @db/redis client.",
  );
}

function isNodeRedisCluster(
  client: object,
): client is NodeRedisCluster {
  return typeof (client as Partial<NodeRedisCluster>).sendCommand ===
      "function" && "masters" in client && "isOpen" in client;
}

interface BufferConstructorLike {
  from(buffer: ArrayBufferLike, offset: number, length: number): Uint8Array;
  isBuffer(value: unknown): boolean;
}

/**
 * Node's `Buffer`, which both node-redis and ioredis require for binary
 * arguments (a plain `Uint8Array` is rejected, or sent as "1,2,3"). It is
 * global wherever those clients run (Node, Bun, Deno 2), so it is looked up
 * rather than imported.
 */
function nodeBuffer(): BufferConstructorLike {
  const found = (globalThis as { Buffer?: BufferConstructorLike }).Buffer;
  if (found === undefined) {
    throw new TypeError(
      "Binary arguments need Node's Buffer, which this runtime lacks.",
    );
  }
  return found;
}

function nodeArg(arg: RedisArg): string | Uint8Array {
  if (typeof arg === "string") return arg;
  if (typeof arg === "number") {
    if (!Number.isFinite(arg)) {
      throw new TypeError(`Redis argument is ${arg}; numbers must be finite.`);
    }
    return String(arg);
  }
  if (arg instanceof Uint8Array) {
    const Buffer = nodeBuffer();
    // A view, not a copy.
    return Buffer.isBuffer(arg)
      ? arg
      : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
  }
  throw new TypeError(
    `Redis argument is ${
      arg === null ? "null" : typeof arg
    }; use a string, a finite number or a Uint8Array.`,
  );
}

/** Node clients take only strings and buffers; numbers become decimal text. */
function nodeArgs(args: readonly RedisArg[]): Array<string | Uint8Array> {
  if (args.length === 0) {
    throw new TypeError("A Redis command needs at least its name.");
  }
  const out = new Array<string | Uint8Array>(args.length);
  for (let i = 0; i < args.length; i++) out[i] = nodeArg(args[i]);
  return out;
}

/**
 * Converts `args` for a Node.js client and sends them with `send`. A bad
 * argument rejects before anything is sent, as with this module's client, and
 * a client that throws instead of rejecting still yields a rejection, mapped
 * like any other.
 */
function sendConverted(
  args: readonly RedisArg[],
  send: (strings: Array<string | Uint8Array>) => Promise<unknown>,
): Promise<RedisReply> {
  let sent: Promise<unknown>;
  try {
    sent = send(nodeArgs(args));
  } catch (error) {
    sent = Promise.reject(error);
  }
  return settle(sent, args);
}

function settle(
  promise: Promise<unknown>,
  args: readonly RedisArg[],
): Promise<RedisReply> {
  return promise.then(
    (reply) => toReply(reply, args),
    (error) => {
      throw toRedisError(error, args);
    },
  );
}

/**
 * Converts what another client resolved with into a {@linkcode RedisReply}:
 * buffers become UTF-8 text, RESP3 maps and sets become flat arrays as RESP2
 * sends them, booleans become 1 or 0 and big numbers become numbers (or their
 * text when too big for one).
 */
function toReply(value: unknown, args: readonly RedisArg[]): RedisReply {
  switch (typeof value) {
    case "string":
    case "number":
      return value;
    case "undefined":
      return null;
    case "boolean":
      return value ? 1 : 0;
    case "bigint":
      return Number.isSafeInteger(Number(value))
        ? Number(value)
        : value.toString();
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return decoder.decode(value);
  if (Array.isArray(value)) return value.map((v) => toReply(v, args));
  // An error reply nested in an array, as node-redis hands back from EXEC.
  if (value instanceof Error) throw toRedisError(value, args);
  if (value instanceof String) return value.valueOf();
  if (value instanceof Map) {
    const flat: RedisReply[] = [];
    for (const [k, v] of value) flat.push(toReply(k, args), toReply(v, args));
    return flat;
  }
  if (value instanceof Set) return [...value].map((v) => toReply(v, args));
  if (typeof value === "object") {
    const flat: RedisReply[] = [];
    for (const [k, v] of Object.entries(value)) {
      flat.push(k, toReply(v, args));
    }
    return flat;
  }
  throw new TypeError(`Cannot convert a ${typeof value} reply.`);
}

/** The names of every class in an error's prototype chain. */
function classNames(error: Error): string[] {
  const names = [error.name];
  for (
    let proto = Object.getPrototypeOf(error);
    proto !== null && proto !== Error.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = proto.constructor?.name;
    if (typeof name === "string") names.push(name);
  }
  return names;
}

/** Error reply classes: node-redis's, ioredis's (redis-errors) and @db/redis's. */
const REPLY_ERRORS = new Set([
  "ErrorReply",
  "SimpleError",
  "BlobError",
  "ReplyError",
  "ErrorReplyError",
]);

/** Errors that mean the connection is gone or could not be made. */
const CONNECTION_ERRORS = new Set([
  // node-redis
  "ClientClosedError",
  "ClientOfflineError",
  "ConnectionTimeoutError",
  "DisconnectsClientError",
  "ReconnectStrategyError",
  "RootNodesUnavailableError",
  "SocketClosedUnexpectedlyError",
  // ioredis
  "ClusterAllFailedError",
  "MaxRetriesPerRequestError",
  // @db/redis
  "ConnectionClosedError",
  "EOFError",
  "BadResource",
  "BrokenPipe",
  "ConnectionRefused",
  "ConnectionReset",
  "Interrupted",
]);

const TIMEOUT_ERRORS = new Set(["TimeoutError", "SocketTimeoutError"]);

/** ioredis reports these as plain `Error`s. */
const IOREDIS_CONNECTION_MESSAGES = new Set([
  "Connection is closed.",
  "Stream isn't writeable and enableOfflineQueue options is false",
  "None of startup nodes is available",
]);

/**
 * Maps another client's error to this module's error classes, keeping the
 * original as `cause`. Errors it does not know (bad arguments, say) pass
 * through unchanged.
 */
function toRedisError(error: unknown, args: readonly RedisArg[]): unknown {
  if (!(error instanceof Error)) return error;
  const names = classNames(error);
  const command = typeof args[0] === "string"
    ? args[0].toUpperCase()
    : undefined;
  if (names.some((n) => REPLY_ERRORS.has(n))) {
    // @db/redis keeps RESP's leading "-" in the message.
    const reply = error.message.startsWith("-")
      ? error.message.slice(1)
      : error.message;
    const mapped = new RedisReplyError(reply, command);
    return Object.defineProperty(mapped, "cause", {
      value: error,
      configurable: true,
      writable: true,
    });
  }
  if (
    names.some((n) => CONNECTION_ERRORS.has(n)) ||
    IOREDIS_CONNECTION_MESSAGES.has(error.message)
  ) {
    return new RedisConnectionError(error.message, { cause: error });
  }
  if (
    names.some((n) => TIMEOUT_ERRORS.has(n)) ||
    error.message === "Command timed out"
  ) {
    const mapped = new RedisTimeoutError(error.message);
    return Object.defineProperty(mapped, "cause", {
      value: error,
      configurable: true,
      writable: true,
    });
  }
  return error;
}
