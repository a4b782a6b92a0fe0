/**
 * The adapter for `@db/redis` (`jsr:@db/redis`), and the refusal of its
 * cluster client.
 *
 * @module
 */

import type { RedisSender } from "../types.ts";
import type { ForeignErrors } from "./_errors.ts";
import { settle } from "./_reply.ts";
import {
  type DenoRedisClient,
  denoRedisClusterRefused,
  isDenoRedisCluster,
} from "./_shapes.ts";

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
