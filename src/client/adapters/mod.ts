/**
 * Adapters that turn other Redis clients into {@linkcode RedisSender}, so
 * applications can keep the client they already have: one file per client,
 * typed by shape only and importing nothing from those packages, so this
 * module stays free of dependencies.
 *
 * @module
 */

import type { RedisSender } from "../types.ts";
import {
  type DenoRedisClient,
  denoRedisClusterRefused,
  type IoredisClient,
  isDenoRedis,
  isDenoRedisCluster,
  isIoredis,
  isNodeRedis,
  type NodeRedisClient,
  type NodeRedisCluster,
} from "./_shapes.ts";

export type {
  DenoRedisClient,
  IoredisClient,
  NodeRedisClient,
  NodeRedisCluster,
};

/**
 * Every client that {@linkcode toRedisSender} (and so `createRedisStorage`)
 * accepts besides a {@linkcode RedisSender}.
 */
export type SupportedClient =
  | NodeRedisClient
  | NodeRedisCluster
  | IoredisClient
  | DenoRedisClient;

/** Adapters made so far, so one client always maps to one port. */
const adapted = new WeakMap<object, RedisSender>();

/**
 * Returns a {@linkcode RedisSender} for any supported client: a
 * `RedisSender` (this module's clients, or your own) as it is; a node-redis,
 * ioredis or `@db/redis` client, recognised by its shape and adapted. The
 * same client always yields the same port.
 *
 * @param client The client to use.
 * @returns A port over it.
 * @throws {TypeError} listing what is accepted when `client` is none of these,
 * and for `@db/redis`'s cluster client, which cannot route scripts.
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

// Each adapter loads when a client of its kind is first given: a program
// on this module's own client, most of them, never loads one.
function adapt(client: object): RedisSender {
  // ioredis first: its clients also have a (Command-object) sendCommand.
  if (isIoredis(client)) {
    return loading(import("./ioredis.ts").then((m) => m.fromIoredis(client)));
  }
  if (typeof (client as { sendCommand?: unknown }).sendCommand === "function") {
    if (isNodeRedis(client)) {
      return loading(
        import("./node_redis.ts").then((m) => m.fromNodeRedis(client)),
      );
    }
    if (isDenoRedis(client)) {
      if (isDenoRedisCluster(client)) throw denoRedisClusterRefused();
      return loading(
        import("./deno_redis.ts").then((m) => m.fromDenoRedis(client)),
      );
    }
  }
  throw unsupported(client);
}

/**
 * A port that sends through `adapter` once it has loaded. Commands sent
 * before then wait for it, in the order they were sent.
 */
function loading(adapter: Promise<RedisSender>): RedisSender {
  let ready: RedisSender | undefined;
  adapter.then((sender) => ready = sender, () => {});
  return {
    send: (args) =>
      ready !== undefined
        ? ready.send(args)
        : adapter.then((sender) => sender.send(args)),
  };
}

/**
 * The error for a Promise given where a client is expected, the commonest
 * slip with `createRedisClient()`, which resolves to the client.
 *
 * @param value What was given as a client.
 * @returns The error to throw, or `undefined` when `value` is no Promise.
 */
export function promiseGiven(value: unknown): TypeError | undefined {
  if (
    (typeof value !== "object" && typeof value !== "function") ||
    value === null ||
    typeof (value as { then?: unknown }).then !== "function"
  ) return undefined;
  return new TypeError(
    "Expected a Redis client, got a Promise: did you forget `await`? " +
      "e.g. createRedisStorage(await createRedisClient(url)).",
  );
}

function unsupported(client: unknown): TypeError {
  const notAwaited = promiseGiven(client);
  if (notAwaited !== undefined) return notAwaited;
  const what = client === null
    ? "null"
    : typeof client === "object"
    ? `an object with keys [${
      Object.keys(client as object).slice(0, 8).join(", ")
    }]`
    : typeof client;
  return new TypeError(
    `Expected a Redis client, got ${what}. Pass one of: this module's RedisClient or RedisClusterClient ` +
      "(or any object with a send(args) method), a node-redis v5 or v6 createClient() or createCluster() client, " +
      "an ioredis v5 or v6 Redis or Cluster, or an @db/redis connect() client.",
  );
}
