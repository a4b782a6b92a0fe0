/**
 * For those who write a storage backend, or wrap one: the
 * {@linkcode SubjectStorage} contract a `Subject` works through, the
 * {@linkcode StorageFactory} KRules opens one with, the changes a `store()`
 * hands over ({@linkcode StoreChanges}), the properties they name, and the
 * errors a backend throws so that every backend fails alike.
 *
 * Using subjects needs none of this: `createRedisStorage`,
 * `createMemoryStorage` and `createEmptyStorage` are in the root export
 * (`@x/redis-subjects`). A backend that speaks Redis gets its port,
 * `RedisSender`, from `@x/redis-subjects/client`.
 *
 * @example Count the stores a backend receives, by wrapping it
 * ```ts
 * import { createMemoryStorage, KRules } from "@x/redis-subjects";
 * import type { StorageFactory, SubjectStorage } from "@x/redis-subjects/storage";
 *
 * let stores = 0;
 * function counted(inner: StorageFactory): StorageFactory {
 *   return (name, context) => {
 *     const storage: SubjectStorage = inner(name, context);
 *     const store = storage.store.bind(storage);
 *     storage.store = (changes) => {
 *       stores++;
 *       return store(changes);
 *     };
 *     return storage;
 *   };
 * }
 *
 * const krules = new KRules({ storage: counted(createMemoryStorage()) });
 * const device = krules.subject("device-1");
 * await device.set("temperature", 21.5);
 * await device.store();
 * console.log(stores); // 1
 * ```
 *
 * @module
 */

// The contract every backend implements
export type {
  EncodedValue,
  StorageContext,
  StorageFactory,
  StoreChanges,
  StoreCondition,
  SubjectNamesOptions,
  SubjectStorage,
} from "./src/storage/types.ts";

// The properties a store() names
export {
  type Property,
  PropertyType,
  type PropertyTypeValue,
  SubjectExtProperty,
  SubjectProperty,
} from "./src/storage/property.ts";

// What a backend throws, so that every backend fails alike
export { CorruptValueError, InvalidValueError } from "./src/json/errors.ts";
export {
  ConflictError,
  PropertyNotFoundError,
  type PropertyNotFoundErrorOptions,
} from "./src/storage/errors.ts";

// The Redis backend's storage, for wrapping or inspecting it
export { SubjectsRedisStorage } from "./src/storage/redis/redis_storage.ts";
