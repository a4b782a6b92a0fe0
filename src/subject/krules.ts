import type { StorageFactory, SubjectNamesOptions } from "../storage/types.ts";
import { UnstoredSubjects } from "./_unstored.ts";
import type { UnstoredChangesError } from "./errors.ts";
import { EventBus, listens } from "./event_bus.ts";
import type { StorableProps } from "./props.ts";
import { type EventSink, Subject } from "./subject.ts";

// Lets unstoredChanges() read an instance's ledger; set in the class's
// static block, the only code that may touch its private fields.
let unstoredOf: (krules: KRules) => UnstoredSubjects;

/**
 * Options of the {@linkcode KRules} constructor.
 *
 * @typeParam Storage The storage factory's type.
 */
export interface KRulesOptions<
  Storage extends StorageFactory = StorageFactory,
> {
  /**
   * Opens the storage of each subject: `createRedisStorage(client)`, or
   * `createMemoryStorage()` for tests and single-process tools. Required:
   * `createEmptyStorage()`, which keeps nothing, must be chosen explicitly.
   */
  storage: Storage;
  /**
   * Where subjects send their events.
   *
   * @default {a new EventBus}
   */
  eventBus?: EventBus;
}

/** Options of {@linkcode KRules.subject}. */
export interface SubjectFactoryOptions {
  /** What is known about the event that opens the subject; see `Subject.eventInfo()`. */
  eventInfo?: Record<string, unknown>;
  /** The event's payload, passed on to the storage factory. */
  eventData?: unknown;
  /**
   * Whether the subject's reads and writes use its cache when a call does not say.
   *
   * @default {true}
   */
  useCacheDefault?: boolean;
}

/**
 * The entry point: holds the storage factory and the event bus, and opens
 * subjects on them.
 *
 * @typeParam Storage The storage factory's type, inferred from the
 *   `storage` option: whether it stores `BigInt` values decides whether
 *   subjects may declare `bigint` properties.
 *
 * @example
 * ```ts
 * import { createMemoryStorage, KRules } from "@x/redis-subjects";
 *
 * const krules = new KRules({ storage: createMemoryStorage() });
 * krules.eventBus.on("subject-property-changed", ({ payload }) => {
 *   console.log(payload.property_name, payload.old_value, "->", payload.value);
 * });
 * const device = krules.subject("device-456");
 * await device.set("temperature", 21.5); // logs: temperature null -> 21.5
 * await device.store();
 * ```
 */
export class KRules<Storage extends StorageFactory = StorageFactory> {
  /** The bus every subject of this instance emits its events on. */
  readonly eventBus: EventBus;
  readonly #storage: StorageFactory;
  readonly #events: EventSink;
  readonly #unstored = new UnstoredSubjects();
  #closed = false;

  /**
   * Creates an instance.
   *
   * @param options The storage factory and the event bus.
   * @throws {TypeError} When no storage factory is given.
   */
  constructor(options: KRulesOptions<Storage>) {
    const storage = options?.storage;
    if (typeof storage !== "function") {
      // No silent default: a storage that keeps nothing would lose every write.
      throw new TypeError(
        "KRules needs a storage: new KRules({ storage: createRedisStorage(client) }), or createMemoryStorage() for tests and single-process tools.",
      );
    }
    this.#storage = storage;
    const eventBus = options?.eventBus ?? new EventBus();
    this.eventBus = eventBus;
    this.#events = {
      listens: (eventType) => listens(eventBus, eventType),
      emit: (eventType, subject, payload, extra) =>
        eventBus.emit(eventType, subject, payload, extra),
    };
  }

  /**
   * Opens a subject. Cheap: nothing is read until the subject is used, and
   * two subjects of the same name are independent caches over the same data.
   *
   * @typeParam Props The default properties' names and value types, e.g.
   *   `{ email: string; logins: number }` or an interface. Each value type
   *   must be one JSON stores ({@linkcode StorableValue}): a `Date`,
   *   `bigint`, `Map`, `Set` or function does not compile. Nothing checks
   *   stored data against it, so it is a promise the application keeps.
   * @typeParam ExtProps The extended properties' names and value types,
   *   under the same rule. Over a storage factory created with
   *   `unsafeIntegers: "bigint"`, both may declare `bigint` values too.
   * @param name The subject name; an empty name throws `TypeError`.
   * @param options The event context and the default cache use.
   * @returns The subject.
   */
  subject<
    // `bigint` is a stored type only over a factory that says it stores it.
    Props extends StorableProps<
      Props,
      Storage extends { readonly unsafeIntegers: "bigint" } ? bigint : never
    > = Record<string, unknown>,
    ExtProps extends StorableProps<
      ExtProps,
      Storage extends { readonly unsafeIntegers: "bigint" } ? bigint : never
    > = Record<string, unknown>,
  >(
    name: string,
    options?: SubjectFactoryOptions,
  ): Subject<Props, ExtProps> {
    if (this.#closed) {
      throw new Error(
        `Cannot open subject ${
          JSON.stringify(name)
        }: this KRules was closed. Open subjects before close().`,
      );
    }
    const storage = this.#storage(name, {
      eventInfo: options?.eventInfo,
      eventData: options?.eventData,
    });
    return new Subject<Props, ExtProps>(name, {
      storage,
      events: this.#events,
      eventInfo: options?.eventInfo,
      useCacheDefault: options?.useCacheDefault,
      tracker: this.#unstored,
    });
  }

  /**
   * Closes this instance: `subject()` refuses to open subjects from now on,
   * every `store()` in flight is waited for, and then it checks that no
   * subject it opened still holds changes that were never stored (cached
   * `set()`s or `delete()`s whose `store()` was not called or failed). It
   * does not store them: a change left unstored may be half of something,
   * and only the code that made it knows. Close the client after it.
   *
   * It keeps no subject alive: a subject the program dropped while it held
   * changes never stored is named as dropped, its changes lost.
   *
   * @throws {UnstoredChangesError} When subjects hold changes never stored,
   *   naming them.
   *
   * @example Shutting down a worker
   * ```ts
   * import { createMemoryStorage, KRules } from "@x/redis-subjects";
   *
   * const krules = new KRules({ storage: createMemoryStorage() });
   * const user = krules.subject("user-1");
   * await user.set("email", "a@b.c");
   * await user.store();
   * await krules.close(); // resolves: nothing left unstored
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    const error = await unstoredChanges(
      this,
      "Call store() on each subject after its last change, before close().",
    );
    if (error !== undefined) throw error;
  }

  /**
   * Closes this instance, as {@linkcode close} does, for `await using`.
   *
   * @throws {UnstoredChangesError} When subjects hold changes never stored.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  static {
    unstoredOf = (krules) => krules.#unstored;
  }

  /**
   * Lists the names of the subjects that have stored data. On Redis it walks
   * the keys under the storage's prefix with `SCAN` (on every master of a
   * cluster), so it never blocks the server the way `KEYS` does; a name
   * comes once, and a subject created or deleted meanwhile may be left out.
   *
   * @param options A glob the names must match, e.g. `{ match: "user-*" }`.
   * @returns The names, as they are found.
   * @throws {TypeError} When the storage cannot list subjects.
   *
   * @example
   * ```ts
   * import { createMemoryStorage, KRules } from "@x/redis-subjects";
   *
   * const krules = new KRules({ storage: createMemoryStorage() });
   * await krules.subject("user-1").set("n", 1, { useCache: false });
   * for await (const name of krules.subjectNames({ match: "user-*" })) {
   *   console.log(name); // "user-1"
   * }
   * ```
   */
  subjectNames(options?: SubjectNamesOptions): AsyncIterable<string> {
    const storage = this.#storage;
    if (storage.subjectNames === undefined) {
      throw new TypeError(
        "This storage cannot list subjects; createRedisStorage and createMemoryStorage can.",
      );
    }
    return storage.subjectNames(options);
  }
}

/**
 * Waits for the `store()`s in flight of the subjects `krules` opened, then
 * names those that hold changes never stored: what `close()` and
 * `assertAllStored()` check, the latter without closing.
 *
 * @param krules The instance whose subjects to check.
 * @param advice What to do, ending the error's message.
 * @returns The error naming them, or `undefined` when there are none.
 */
export async function unstoredChanges(
  krules: KRules,
  advice: string,
): Promise<UnstoredChangesError | undefined> {
  const unstored = unstoredOf(krules);
  await unstored.storesSettled();
  return unstored.error(advice);
}
