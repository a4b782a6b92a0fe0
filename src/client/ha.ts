/**
 * The factories of the cluster and Sentinel clients. Each loads its client's
 * modules when first called: a process that talks to one server, the usual
 * worker, never loads them, and starts faster for it (a module costs about
 * 0.3 ms of a cold start, and these are a sixth of the module graph).
 *
 * @module
 */

import type { RedisClusterClient } from "./cluster.ts";
import type { RedisClusterClientOptions } from "./_cluster_options.ts";
import type { RedisSentinelClient } from "./sentinel.ts";
import type { RedisSentinelClientOptions } from "./_sentinel_options.ts";

/**
 * Connects to a Redis Cluster: reads the slot map from the first seed that
 * answers and opens one auto-pipelined connection per master.
 *
 * @param seeds URLs of one or more cluster nodes, e.g. every master's. The
 * scheme (`rediss://` for TLS), user name and password of the first apply to
 * every node; the database must be 0.
 * @param options Per-node client options (timeouts, TLS, client name,
 * reconnect policy) and `maxRedirects`.
 * @returns The connected cluster client. Close it with `close()` or `await using`.
 * @throws {TypeError} when a URL or an option is invalid (nothing is connected).
 * @throws {RedisConnectionError} when no seed can be reached.
 * @throws {RedisReplyError} when a seed refuses the credentials or is not in cluster mode.
 *
 * @example Store subjects on a cluster
 * ```ts
 * import {
 *   createRedisClusterClient,
 *   createRedisStorage,
 *   KRules,
 * } from "@x/redis-subjects";
 *
 * await using cluster = await createRedisClusterClient(
 *   ["redis://:secret@10.0.0.1:7000", "redis://:secret@10.0.0.2:7000"],
 *   { commandTimeoutMs: 2000 },
 * );
 * const krules = new KRules({ storage: createRedisStorage(cluster) });
 * await krules.subject("user-123").set("name", "Ada", { useCache: false });
 * ```
 */
export async function createRedisClusterClient(
  seeds: readonly (string | URL)[] | string | URL,
  options?: RedisClusterClientOptions,
): Promise<RedisClusterClient> {
  const { RedisClusterClient } = await import("./cluster.ts");
  return await connected(new RedisClusterClient(seeds, options));
}

/**
 * Connects to the master of a Sentinel-watched deployment: asks the
 * Sentinels which server is master, checks it with `ROLE`, and returns a
 * client that follows failovers by itself.
 *
 * @param sentinels URLs of one or more Sentinels (`redis://` or `rediss://`),
 * with the Sentinels' own credentials if they need any.
 * @param options `masterName` (required); `username`, `password` and `db`
 * for the data nodes; and every {@linkcode RedisClientOptions} field for the
 * connection to the master.
 * @returns The connected client. Close it with `close()` or `await using`.
 * @throws {TypeError} when a URL or an option is invalid (nothing is connected).
 * @throws {RedisConnectionError} when no master is found and reached within `connectTimeoutMs`.
 *
 * @example Store subjects on a Sentinel-watched master
 * ```ts
 * import {
 *   createRedisSentinelClient,
 *   createRedisStorage,
 *   KRules,
 * } from "@x/redis-subjects";
 *
 * await using client = await createRedisSentinelClient(
 *   ["redis://10.0.0.1:26379", "redis://10.0.0.2:26379", "redis://10.0.0.3:26379"],
 *   { masterName: "mymaster", password: "data-node-secret" },
 * );
 * const krules = new KRules({
 *   storage: createRedisStorage(client, { waitReplicas: 1, waitTimeoutMs: 500 }),
 * });
 * await krules.subject("user-123").set("name", "Ada", { useCache: false });
 * ```
 */
export async function createRedisSentinelClient(
  sentinels: readonly (string | URL)[] | string | URL,
  options: RedisSentinelClientOptions,
): Promise<RedisSentinelClient> {
  const { RedisSentinelClient } = await import("./sentinel.ts");
  return await connected(new RedisSentinelClient(sentinels, options));
}

/** `client`, connected; closed again if it could not connect. */
async function connected<
  T extends { connect(): Promise<unknown>; close(): Promise<unknown> },
>(
  client: T,
): Promise<T> {
  try {
    await client.connect();
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}
