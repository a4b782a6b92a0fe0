/**
 * Test helpers: throwaway `redis-server` processes on free ports, for your
 * own tests as much as for this module's, and `assertAllStored()`, which
 * fails when a subject holds changes the code under test never stored.
 *
 * @example
 * ```ts
 * import { startRedisServer } from "@x/redis-subjects/testing";
 *
 * await using server = await startRedisServer({ config: ["appendonly yes"] });
 * console.log(server.url); // redis://127.0.0.1:PORT/0
 * ```
 *
 * @module
 */
export { startRedisServer } from "./src/testing/redis_server.ts";
export type {
  RedisServer,
  RedisServerOptions,
  RedisServerTlsOptions,
} from "./src/testing/redis_server.ts";
export { startRedisCluster } from "./src/testing/redis_cluster.ts";
export type {
  RedisCluster,
  RedisClusterOptions,
} from "./src/testing/redis_cluster.ts";
export { startRedisSentinel } from "./src/testing/redis_sentinel.ts";
export type {
  RedisSentinel,
  RedisSentinelOptions,
} from "./src/testing/redis_sentinel.ts";
export { assertAllStored } from "./src/subject/assert_all_stored.ts";
