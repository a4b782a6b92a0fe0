/**
 * KRules subjects stored in Redis, for Deno.
 *
 * A subject is a named entity (`user-123`) holding JSON properties. Work on it
 * through an async {@linkcode Subject}: reads are cached, writes are batched
 * into one atomic `store()`, and `set(name, fn, { useCache: false })` is an
 * atomic read-modify-write. Data lives in one Redis hash per subject, laid out
 * exactly as KRules' Python `redis_subjects_storage` lays it out, so Deno and
 * Python services share subjects through one Redis.
 *
 * The module has no dependencies: it brings its own auto-pipelining Redis
 * client ({@linkcode createRedisClient}).
 *
 * @example Count logins of a user
 * ```ts
 * import { createRedisClient, createRedisStorage, KRules } from "@x/redis-subjects";
 *
 * await using client = await createRedisClient("redis://localhost:6379/0");
 * const krules = new KRules({
 *   storage: createRedisStorage(client, { keyPrefix: "myapp:" }),
 * });
 *
 * const user = krules.subject<{ name: string; email: string; logins: number }>("user-123");
 * await user.set("name", "John Doe");          // cached
 * await user.set("email", "john@example.com"); // cached
 * await user.store();                          // one atomic write: HSET s:myapp:user-123 …
 *
 * // Atomic increment, safe across processes:
 * await user.set("logins", (n) => (n ?? 0) + 1, { useCache: false });
 * console.log(await user.dict()); // { name: "John Doe", email: "john@example.com", logins: 1, ext: {} }
 * ```
 *
 * @module
 */

// Redis client
export { createRedisClient, RedisClient } from "./src/client/client.ts";
export type {
  ReconnectOptions,
  RedisClientOptions,
  RedisClientStats,
} from "./src/client/client.ts";
export {
  notExecuted,
  RedisConnectionError,
  RedisError,
  RedisReplyError,
  RedisTimeoutError,
} from "./src/client/errors.ts";
export type {
  Execution,
  RedisErrorOptions,
  RedisReplyErrorOptions,
} from "./src/client/errors.ts";
export type { RedisArg, RedisReply, RedisSender } from "./src/client/types.ts";
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
export type { TelemetryOptions } from "./src/telemetry/client_telemetry.ts";
export {
  createRedisClusterClient,
  RedisClusterClient,
} from "./src/client/cluster.ts";
export type {
  RedisClusterClientOptions,
  RedisClusterClientStats,
} from "./src/client/cluster.ts";
export {
  createRedisSentinelClient,
  RedisSentinelClient,
} from "./src/client/sentinel.ts";
export type {
  RedisSentinelClientOptions,
  RedisSentinelClientStats,
} from "./src/client/sentinel.ts";
export { ReplicationError } from "./src/client/replication.ts";

// Bring your own client: createRedisStorage takes these as they are.
export type {
  DenoRedisClient,
  IoredisClient,
  NodeRedisClient,
  NodeRedisCluster,
  SupportedClient,
} from "./src/client/adapters/mod.ts";

// Storage
export { CorruptValueError, InvalidValueError } from "./src/json/errors.ts";
export {
  ConflictError,
  PropertyNotFoundError,
  type PropertyNotFoundErrorOptions,
} from "./src/storage/errors.ts";
export {
  type Property,
  PropertyType,
  type PropertyTypeValue,
  SubjectExtProperty,
  SubjectProperty,
} from "./src/storage/property.ts";
export type {
  EncodedValue,
  StorageContext,
  StorageFactory,
  StoreChanges,
  StoreCondition,
  SubjectNamesOptions,
  SubjectStorage,
} from "./src/storage/types.ts";
export {
  createRedisStorage,
  type RedisStorageOptions,
  SubjectsRedisStorage,
} from "./src/storage/redis_storage.ts";
export { createMemoryStorage } from "./src/storage/memory_storage.ts";
export { createEmptyStorage } from "./src/storage/empty_storage.ts";

// Subjects
export {
  EventBus,
  type EventBusOptions,
  type EventHandler,
  type EventPattern,
  type SubjectEvent,
  type SubjectEventName,
  type SubjectEventPayloads,
} from "./src/subject/event_bus.ts";
export { PayloadConst, SubjectEventType } from "./src/subject/events.ts";
export type {
  DeleteOptions,
  ExtOptions,
  GetOptions,
  PropName,
  SetOptions,
  Subject,
  SubjectDict,
  SubjectProps,
} from "./src/subject/subject.ts";
export type { StorableProps, StorableValue } from "./src/subject/props.ts";
export {
  KRules,
  type KRulesOptions,
  type SubjectFactoryOptions,
} from "./src/subject/krules.ts";

// Configuration
export {
  type EnvSource,
  loadRedisConfig,
  type RedisConfig,
} from "./src/config.ts";
