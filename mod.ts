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
 * More in two entry points of their own: `@x/redis-subjects/client` for the
 * clients' full surface (events, statistics, options, adapters, the
 * `RedisSender` port) and `@x/redis-subjects/storage` for writing a storage
 * backend; `@x/redis-subjects/testing` starts throwaway servers for tests.
 *
 * @module
 */

// Subjects
export {
  KRules,
  type KRulesOptions,
  type SubjectFactoryOptions,
} from "./src/subject/krules.ts";
export type {
  DeleteOptions,
  DictOptions,
  ExtOptions,
  GetOptions,
  PropName,
  SetOptions,
  Subject,
  SubjectDict,
  SubjectProps,
} from "./src/subject/subject.ts";
export type { StorableProps, StorableValue } from "./src/subject/props.ts";

// Subject events
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

// Storages
export {
  createRedisStorage,
  type RedisStorageOptions,
} from "./src/storage/redis/redis_storage.ts";
export {
  createMemoryStorage,
  type MemoryStorageOptions,
} from "./src/storage/memory_storage.ts";
export type { UnsafeIntegers } from "./src/json/codec.ts";
export { createEmptyStorage } from "./src/storage/empty_storage.ts";
export type {
  StorageFactory,
  SubjectNamesOptions,
} from "./src/storage/types.ts";

// Clients to give createRedisStorage (their full surface: ./client)
export {
  createRedisClient,
  RedisClient,
  type RedisClientOptions,
} from "./src/client/client.ts";
export {
  createRedisClusterClient,
  createRedisSentinelClient,
} from "./src/client/ha.ts";
export type { RedisClusterClientOptions } from "./src/client/cluster.ts";
export type { RedisSentinelClientOptions } from "./src/client/sentinel.ts";

// Errors to catch: Redis and replication
export {
  type Execution,
  notExecuted,
  RedisConnectionError,
  RedisError,
  RedisReplyError,
  RedisTimeoutError,
  RedisUnexpectedReplyError,
} from "./src/client/errors.ts";
export { ReplicationError } from "./src/client/replication.ts";

// Errors to catch: values and properties
export {
  CorruptValueError,
  type CorruptValueErrorOptions,
  type CorruptValueReason,
  InvalidValueError,
} from "./src/json/errors.ts";
export { ConflictError, PropertyNotFoundError } from "./src/storage/errors.ts";

// Errors to catch: subjects
export {
  UnstoredChangesError,
  type UnstoredChangesErrorOptions,
} from "./src/subject/errors.ts";

// Configuration
export {
  type EnvSource,
  loadRedisConfig,
  type RedisConfig,
} from "./src/config.ts";
