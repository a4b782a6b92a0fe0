/**
 * The adapter for ioredis v5 and v6 (`npm:ioredis`): `Redis` and `Cluster`.
 *
 * @module
 */

import type { RedisSender } from "../types.ts";
import type { ForeignErrors } from "./_errors.ts";
import { sendConverted } from "./_node_args.ts";
import type { IoredisClient } from "./_shapes.ts";

/** How ioredis names its errors; some are plain `Error`s told by their message. */
const IOREDIS_ERRORS: ForeignErrors = {
  reply: new Set(["ReplyError"]),
  connection: new Set(["ClusterAllFailedError", "MaxRetriesPerRequestError"]),
  // v6 adds the two maintenance timeouts, plain Errors named by class.
  timeout: new Set([
    "TimeoutError",
    "CommandTimeoutDuringMaintenanceError",
    "SocketTimeoutDuringMaintenanceError",
  ]),
  connectionMessages: new Set([
    "Connection is closed.",
    "Stream isn't writeable and enableOfflineQueue options is false",
    "None of startup nodes is available",
    "Connection closed while waiting for the command queue",
  ]),
  timeoutMessages: new Set(["Command timed out"]),
};

const decoder = new TextDecoder();

/**
 * Adapts an ioredis v5 or v6 client or cluster client (`npm:ioredis`),
 * through its `call` method. Its `keyPrefix` option, if set, still applies to
 * keys. ioredis 6 speaks RESP3 by default and, with its default
 * `replyMapping: "legacy"`, hands replies over as RESP2 shapes them; under
 * `replyMapping: "resp3"` it makes a map an object, integer-like fields
 * first, and a double a number, before this adapter sees them.
 *
 * @param client A `new Redis()` or `new Cluster()` client.
 * @returns A port over it; closing the client stays the caller's job.
 *
 * @example After `deno add npm:ioredis`
 * ```ts
 * import { Redis } from "ioredis";
 * import { createRedisStorage } from "@x/redis-subjects";
 *
 * // ioredis's default export is not constructable under Deno's types; the
 * // named export is the same class.
 * const client = new Redis("redis://localhost:6379");
 * const storage = createRedisStorage(client); // adapted by this function
 * ```
 */
export function fromIoredis(client: IoredisClient): RedisSender {
  return {
    send: (args) =>
      sendConverted(
        args,
        ([name, ...rest]) =>
          // ioredis rewrites the replies of some commands it knows by their
          // lower-case name (HGETALL into an object, which reorders integer-like
          // fields); upper case keeps every reply as the server sent it.
          client.call(
            (typeof name === "string" ? name : decoder.decode(name))
              .toUpperCase(),
            // Buffers included: see `IoredisClient.call`.
            ...rest as string[],
          ),
        IOREDIS_ERRORS,
      ),
  };
}
