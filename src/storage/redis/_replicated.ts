/**
 * The durability option's sender: every write leaves followed by `WAIT`, on
 * the same connection and in the same socket write.
 *
 * @module
 */

import { canWait, sendWithWait } from "../../client/replication.ts";
import type { RedisArg, RedisReply, RedisSender } from "../../client/types.ts";

/** What the storage sends that changes data. */
const WRITES = new Set(["HSET", "HDEL", "DEL", "EVALSHA", "EVAL"]);

/** One wrapper per client and setting, so the compare-and-set combining keeps one queue per client. */
const wrappers = new WeakMap<RedisSender, Map<string, RedisSender>>();
/** Every wrapper made, so that wrapping one again returns it as it is. */
const made = new WeakSet<RedisSender>();

/**
 * A sender that follows every storage write on `client` with
 * `WAIT replicas timeoutMs` and rejects with `ReplicationError` when fewer
 * replicas acknowledged it; reads pass through unchanged.
 *
 * @param client This module's client (single, cluster or Sentinel).
 * @param replicas Replicas that must acknowledge each write.
 * @param timeoutMs How long `WAIT` waits for them.
 * @returns The wrapping sender; `client` itself when it is one already.
 * @throws {TypeError} when `client` cannot send a write and `WAIT` on one connection.
 */
export function replicatedSender(
  client: RedisSender,
  replicas: number,
  timeoutMs: number,
): RedisSender {
  if (made.has(client)) return client;
  if (!canWait(client)) {
    throw new TypeError(
      "waitReplicas needs this module's client (createRedisClient, createRedisClusterClient or createRedisSentinelClient): WAIT must follow each write on the same connection, which other clients do not promise.",
    );
  }
  let byClient = wrappers.get(client);
  if (byClient === undefined) {
    byClient = new Map();
    wrappers.set(client, byClient);
  }
  const key = `${replicas}/${timeoutMs}`;
  let wrapper = byClient.get(key);
  if (wrapper === undefined) {
    wrapper = {
      send(args: readonly RedisArg[]): Promise<RedisReply> {
        return WRITES.has(String(args[0]).toUpperCase())
          ? client[sendWithWait](args, replicas, timeoutMs)
          : client.send(args);
      },
    };
    byClient.set(key, wrapper);
    made.add(wrapper);
  }
  return wrapper;
}
