/**
 * The Redis clients' full surface: the standalone, cluster and Sentinel
 * clients with their options and statistics, the events they dispatch, the
 * errors they throw, the one-method {@linkcode RedisSender} port the storage
 * talks to, and the adapters that turn node-redis, ioredis and `@db/redis`
 * clients into that port.
 *
 * A subjects user needs none of this beyond what the root export
 * (`@x/redis-subjects`) already holds: `createRedisClient` and its cluster
 * and Sentinel siblings, and the errors to catch. Import from here to listen
 * to a client's events, read its statistics, type its options, or send your
 * own commands.
 *
 * @example Watch a client reconnect, and send a command of your own
 * ```ts
 * import {
 *   createRedisClient,
 *   type RedisReconnectingEvent,
 * } from "@x/redis-subjects/client";
 *
 * await using client = await createRedisClient("redis://localhost:6379/0", {
 *   reconnect: { maxAttempts: 5 },
 * });
 * client.addEventListener("reconnecting", (event: RedisReconnectingEvent) => {
 *   console.warn(`reconnect attempt ${event.attempt} in ${event.delayMs} ms`);
 * });
 * console.log(await client.send(["PING"])); // PONG
 * console.log(client.stats.commands); // commands written so far
 * ```
 *
 * @module
 */

// The standalone client
export { createRedisClient, RedisClient } from "./src/client/client.ts";
export type {
  ReconnectOptions,
  RedisClientOptions,
  RedisClientStats,
} from "./src/client/client.ts";
export type { TelemetryOptions } from "./src/telemetry/client_telemetry.ts";

// Redis Cluster
export { createRedisClusterClient } from "./src/client/ha.ts";
export { RedisClusterClient } from "./src/client/cluster.ts";
export type {
  RedisClusterClientOptions,
  RedisClusterClientStats,
} from "./src/client/cluster.ts";

// Redis Sentinel
export { createRedisSentinelClient } from "./src/client/ha.ts";
export { RedisSentinelClient } from "./src/client/sentinel.ts";
export type {
  RedisSentinelClientOptions,
  RedisSentinelClientStats,
} from "./src/client/sentinel.ts";

// Events every client dispatches
export {
  RedisConnectEvent,
  RedisDisconnectEvent,
  RedisErrorEvent,
  RedisEvent,
  RedisEventTarget,
  RedisReconnectingEvent,
} from "./src/client/events.ts";
export type {
  RedisClientEvent,
  RedisClientEventMap,
  RedisConnectEventInit,
  RedisDisconnectEventInit,
  RedisErrorEventInit,
  RedisEventInit,
  RedisReconnectingEventInit,
} from "./src/client/events.ts";

// Errors, and whether the command that failed ran
export {
  notExecuted,
  RedisConnectionError,
  RedisError,
  RedisReplyError,
  RedisTimeoutError,
  RedisUnexpectedReplyError,
} from "./src/client/errors.ts";
export type {
  Execution,
  RedisErrorOptions,
  RedisReplyErrorOptions,
} from "./src/client/errors.ts";
export { ReplicationError } from "./src/client/replication.ts";

// The port the storage sends through
export type { RedisArg, RedisReply, RedisSender } from "./src/client/types.ts";

// Bring your own client: createRedisStorage adapts these by shape; the from*
// functions do it explicitly.
export { fromDenoRedis } from "./src/client/adapters/deno_redis.ts";
export { fromIoredis } from "./src/client/adapters/ioredis.ts";
export { fromNodeRedis } from "./src/client/adapters/node_redis.ts";
export type {
  DenoRedisClient,
  IoredisClient,
  NodeRedisClient,
  NodeRedisCluster,
  SupportedClient,
} from "./src/client/adapters/mod.ts";
