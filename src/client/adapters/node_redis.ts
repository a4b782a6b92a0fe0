/**
 * The adapter for node-redis v5 and v6 (`npm:redis`): single clients and
 * clusters, over RESP2 or RESP3 (v6's default).
 *
 * @module
 */

import { commandKey } from "../_slot.ts";
import { RedisConnectionError } from "../errors.ts";
import type { RedisSender } from "../types.ts";
import type { ForeignErrors } from "./_errors.ts";
import { nodeArg, sendConverted } from "./_node_args.ts";
import {
  isNodeRedisCluster,
  type NodeRedisClient,
  type NodeRedisCluster,
} from "./_shapes.ts";

/** How node-redis names its errors. */
const NODE_REDIS_ERRORS: ForeignErrors = {
  reply: new Set(["ErrorReply", "SimpleError", "BlobError"]),
  connection: new Set([
    "ClientClosedError",
    "ClientOfflineError",
    "ConnectionTimeoutError",
    "DisconnectsClientError",
    "ReconnectStrategyError",
    "RootNodesUnavailableError",
    "SocketClosedUnexpectedlyError",
  ]),
  // v6's TimeoutReadError (and its maintenance subclasses): a command that
  // was sent and got no reply in time.
  timeout: new Set(["TimeoutError", "SocketTimeoutError", "TimeoutReadError"]),
  // Refused before queueing, or timed out "waiting to be sent" (node-redis 5
  // and 6 both take the command off the write queue when TimeoutError fires;
  // v6 applies a default 5 s timeout to that wait).
  notSent: new Set(["ClientClosedError", "ClientOfflineError", "TimeoutError"]),
};

/**
 * The command options every adapted command is sent with: a type mapping
 * that has node-redis decode RESP3's maps as flat arrays, and its doubles and
 * big numbers as text, which is how RESP2 sends them. Its default would make
 * a map a plain object, which moves integer-like fields to the front and
 * loses a field named `__proto__`, and a double a rounded number. The keys are
 * RESP3's type bytes (node-redis's `RESP_TYPES`), written out so this module
 * imports nothing from node-redis. Under RESP2 no reply has these types.
 */
const RESP2_SHAPES = {
  typeMapping: {
    [0x25 /* % map */]: Array,
    [0x2c /* , double */]: String,
    [0x28 /* ( big number */]: String,
  },
};

/**
 * Adapts a node-redis v5 or v6 client or cluster client (`npm:redis`).
 * Replies arrive as over RESP2 whichever protocol the client speaks. Cluster
 * commands are routed by their first key, found as this module's own cluster
 * client finds it, and always go to masters, so reads see every write.
 *
 * @param client A connected `createClient()` or `createCluster()` client.
 * @returns A port over it; closing the client stays the caller's job.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { createRedisStorage } from "@x/redis-subjects";
 *
 * const client = await createClient({ url: "redis://localhost:6379" }).connect();
 * const storage = createRedisStorage(client); // adapted by this function
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
          return whileOpen(client, () =>
            client.sendCommand(
              key === undefined ? undefined : nodeArg(key),
              false,
              strings,
              RESP2_SHAPES,
            ));
        }, NODE_REDIS_ERRORS),
    };
  }
  return {
    send: (args) =>
      sendConverted(
        args,
        (strings) =>
          whileOpen(client, () => client.sendCommand(strings, RESP2_SHAPES)),
        NODE_REDIS_ERRORS,
      ),
  };
}

/**
 * Sends through a node-redis client, saying what to do when it is not open:
 * `createClient()` returns a client that refuses every command until
 * `connect()`, with a "client is closed" error that reads as if it had been
 * closed.
 */
function whileOpen(
  client: { readonly isOpen: boolean },
  send: () => Promise<unknown>,
): Promise<unknown> {
  if (client.isOpen) return send();
  // node-redis refuses without sending, so the command was not executed.
  return new Promise<unknown>((resolve) => resolve(send())).catch((error) => {
    throw new RedisConnectionError(
      "The node-redis client is not open: call `connect()` first, e.g. " +
        "`await createClient({ url }).connect()`, and keep it open while the storage uses it.",
      { cause: error, executed: "no" },
    );
  });
}
