/**
 * The adapter for `@db/redis` (`jsr:@db/redis`), and the refusal of its
 * cluster client.
 *
 * @module
 */

import type { RedisSender } from "../types.ts";
import type { ForeignErrors } from "./_errors.ts";
import { settle } from "./_reply.ts";

/**
 * The part of an `@db/redis` client (`connect()` from `jsr:@db/redis`) that
 * {@linkcode fromDenoRedis} uses. Its cluster client is refused: see
 * {@linkcode fromDenoRedis}.
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

/** How `@db/redis` names its errors. */
const DENO_REDIS_ERRORS: ForeignErrors = {
  reply: new Set(["ErrorReplyError"]),
  connection: new Set([
    "ConnectionClosedError",
    "EOFError",
    "BadResource",
    "BrokenPipe",
    "ConnectionRefused",
    "ConnectionReset",
    "Interrupted",
  ]),
  timeout: new Set(["TimeoutError"]),
};

const decoder = new TextDecoder();

/**
 * Whether `client` looks like an `@db/redis` client, single or cluster.
 *
 * @param client Any object with a `sendCommand` method.
 * @returns `true` for `@db/redis`.
 */
export function isDenoRedis(client: object): client is DenoRedisClient {
  return "isConnected" in client;
}

/**
 * Whether an `@db/redis` client is its experimental cluster client: one whose
 * command executor is a `ClusterExecutor`, which has no single connection, so
 * reading `isConnected` throws.
 */
function isDenoRedisCluster(client: DenoRedisClient): boolean {
  const executor = (client as { executor?: unknown }).executor;
  if (
    typeof executor === "object" && executor !== null &&
    executor.constructor?.name === "ClusterExecutor"
  ) {
    return true;
  }
  try {
    void client.isConnected;
    return false;
  } catch {
    return true;
  }
}

/** The `TypeError` for `@db/redis`'s cluster client: why, and what to use instead. */
function denoRedisClusterRefused(): TypeError {
  return new TypeError(
    "@db/redis's cluster client is not supported: it routes every command by its second word, " +
      "which for EVAL and EVALSHA is the script, not the key, so the storage's atomic writes end in " +
      '"Too many Cluster redirections". Connect with createRedisClusterClient(seedUrls) from ' +
      "@x/redis-subjects instead.",
  );
}

/**
 * Adapts an `@db/redis` client (`jsr:@db/redis`), through its
 * `sendCommand(command, args)` method.
 *
 * @param client A client from `connect()`.
 * @returns A port over it; closing the client stays the caller's job.
 * @throws {TypeError} for `@db/redis`'s cluster client, which routes scripts
 * by the script instead of the key; use `createRedisClusterClient`.
 *
 * @example
 * ```ts ignore
 * // ignore: `@db/redis` is not a dependency of this package, so the example
 * // cannot resolve it here; in your project, `deno add jsr:@db/redis` first.
 * import { connect } from "@db/redis";
 * import { createRedisStorage } from "@x/redis-subjects";
 *
 * const client = await connect({ hostname: "localhost", port: 6379 });
 * const storage = createRedisStorage(client); // adapted by this function
 * ```
 */
export function fromDenoRedis(client: DenoRedisClient): RedisSender {
  if (isDenoRedisCluster(client)) throw denoRedisClusterRefused();
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
      return settle(promise, args, DENO_REDIS_ERRORS);
    },
  };
}
