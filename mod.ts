/**
 * KRules subjects stored in Redis.
 *
 * @module
 */
export { createRedisClient, RedisClient } from "./src/client/client.ts";
export type {
  ReconnectOptions,
  RedisClientOptions,
  RedisClientStats,
} from "./src/client/client.ts";
export {
  RedisConnectionError,
  RedisError,
  RedisReplyError,
  RedisTimeoutError,
} from "./src/client/errors.ts";
export type {
  RedisArg,
  RedisCommands,
  RedisReply,
} from "./src/client/types.ts";
