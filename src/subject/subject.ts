import { jsonEqual } from "../json/equal.ts";
import { checkSubjectName } from "../json/names.ts";
import { setOwn, toRecord } from "../json/record.ts";
import { PropertyType } from "../storage/property.ts";
import type { SubjectStorage } from "../storage/types.ts";
import {
  CacheKeeper,
  type ChangeState,
  type ChangeTracker,
} from "./_cache_keeper.ts";
import { deletion, takeSnapshot } from "./_removal.ts";
import { UnstoredChangesError } from "./errors.ts";
import { PayloadConst, SubjectEventType } from "./events.ts";
import type {
  DeleteOptions,
  DictOptions,
  ExtOptions,
  GetOptions,
  PropName,
  SetOptions,
  SubjectDict,
  SubjectProps,
} from "./options.ts";

export type { ChangeState, ChangeTracker };
export type {
  DeleteOptions,
  DictOptions,
  ExtOptions,
  GetOptions,
  PropName,
  SetOptions,
  SubjectDict,
  SubjectProps,
} from "./options.ts";

/**
 * Where a subject sends its events: the part of an `EventBus` it uses. An
 * interface, so that this file and the bus's do not import each other.
 */
export interface EventSink {
  /** Whether any handler would receive an event of this type. */
  listens(eventType: string): boolean;
  /** Delivers an event to its handlers; never rejects because of one. */
  emit(
    eventType: string,
    subject: Subject,
    payload: Record<string, unknown>,
    extra?: Record<string, unknown>,
  ): Promise<void>;
}

/** What `KRules.subject()` opens a subject with. */
export interface SubjectOptions {
  /** The subject's storage, as a storage factory returns it. */
  storage: SubjectStorage;
  /** Where the subject's events go. */
  events: EventSink;
  /** What is known about the event that opened the subject. */
  eventInfo?: Record<string, unknown>;
  /** Whether reads and writes go through the cache when a call does not say. */
  useCacheDefault?: boolean;
  /** Who keeps count of the subjects holding changes never stored. */
  tracker?: ChangeTracker;
}

/**
 * A named entity with default and extended properties, read through a lazy
 * cache and written in batches, as KRules' Python `Subject` (v3).
 *
 * The cache loads on first use with one `load()`. With the cache (the
 * default), `set()` and `delete()` change only the cache and remember what
 * they changed; `store()` writes exactly those changes in one atomic call and
 * then drops the cache, so the next read loads fresh data. With
 * `useCache: false`, a call goes straight to storage and refreshes the cache
 * if one is loaded.
 *
 * Events fire when `set()` or `delete()` changes the subject, before
 * `store()`, as in Python: a listener may hear of a change that a failed
 * `store()` never wrote.
 *
 * Create subjects with `KRules.subject()`, which opens their storage; give
 * it a `Props` type (`krules.subject<User>("user-1")`) to type the default
 * properties, and an `ExtProps` type to type the extended ones. Then every
 * method takes only those names, and a value of the declared type.
 *
 * Untyped (the default, `Record<string, unknown>`), every name is taken and
 * `get()` returns `unknown` unless told the type (`get<number>("n")`); a
 * function given to `set()` receives the old value as `any`, so that
 * `set("n", (n) => (n ?? 0) + 1)` compiles as it reads. The same holds for
 * any property typed `unknown`. What the function returns is checked when it
 * runs, as every value is.
 *
 * @typeParam Props The default properties' names and value types.
 * @typeParam ExtProps The extended properties' names and value types.
 *
 * @example
 * ```ts
 * import { createMemoryStorage, KRules } from "@x/redis-subjects";
 *
 * const krules = new KRules({ storage: createMemoryStorage() });
 * const user = krules.subject<{ email: string; logins: number }>("user-123");
 * await user.set("email", "john@example.com");
 * await user.set("logins", (n) => (n ?? 0) + 1);
 * await user.store(); // one write for both
 * console.log(await user.dict()); // { name: "user-123", email: "john@example.com", logins: 1, ext: {} }
 * ```
 */
export class Subject<
  Props extends SubjectProps = Record<string, unknown>,
  ExtProps extends SubjectProps = Record<string, unknown>,
> {
  /** The subject's name, e.g. `"user-123"`. */
  readonly name: string;
  readonly #storage: SubjectStorage;
  readonly #events: EventSink;
  #eventInfo: Record<string, unknown> | undefined;
  // The cache, its loads, and its way to storage: every call goes there.
  readonly #keeper: CacheKeeper;

  /**
   * Creates a subject over an opened storage; `KRules.subject()` does it.
   *
   * @param name The subject name; an empty name throws `TypeError`.
   * @param options The storage, where events go, and the defaults.
   * @ignore
   */
  constructor(name: string, options: SubjectOptions) {
    checkSubjectName(name);
    this.name = name;
    this.#storage = options.storage;
    this.#events = options.events;
    this.#eventInfo = options.eventInfo;
    this.#keeper = new CacheKeeper(
      this,
      name,
      options.storage,
      options.useCacheDefault ?? true,
      options.tracker,
    );
  }

  /**
   * Reads a default property, or the given default when it is absent.
   *
   * @param prop The property name.
   * @param options The default, and whether to use the cache.
   * @returns The value, or the default.
   */
  get<K extends PropName<Props>, D>(
    prop: K,
    options: GetOptions & { default: D },
  ): Promise<Props[K] | D>;
  /**
   * Reads a default property.
   *
   * @typeParam T The value's type, for an untyped subject; a typed subject
   *   knows it.
   * @param prop The property name.
   * @param options Whether to use the cache, and a default for when it is absent.
   * @returns The value.
   * @throws {PropertyNotFoundError} When the property is absent and no default is given.
   */
  get<T = never, K extends PropName<Props> = PropName<Props>>(
    prop: K,
    options?: GetOptions,
  ): Promise<[NoInfer<T>] extends [never] ? Props[K] : NoInfer<T>>;
  // Implementations as narrow as their overloads: a call no overload takes
  // then gets no TS2793 ("would have succeeded against the implementation").
  get(prop: PropName<Props>, options?: GetOptions): Promise<unknown> {
    return this.#keeper.get(PropertyType.DEFAULT, prop, options);
  }

  /**
   * Reads an extended property, or the given default when it is absent.
   *
   * @param prop The property name.
   * @param options The default, and whether to use the cache.
   * @returns The value, or the default.
   */
  getExt<K extends PropName<ExtProps>, D>(
    prop: K,
    options: GetOptions & { default: D },
  ): Promise<ExtProps[K] | D>;
  /**
   * Reads an extended property.
   *
   * @typeParam T The value's type, for untyped extended properties; typed
   *   ones know it.
   * @param prop The property name.
   * @param options Whether to use the cache, and a default for when it is absent.
   * @returns The value.
   * @throws {PropertyNotFoundError} When the property is absent and no default is given.
   */
  getExt<T = never, K extends PropName<ExtProps> = PropName<ExtProps>>(
    prop: K,
    options?: GetOptions,
  ): Promise<[NoInfer<T>] extends [never] ? ExtProps[K] : NoInfer<T>>;
  getExt(prop: PropName<ExtProps>, options?: GetOptions): Promise<unknown> {
    return this.#keeper.get(PropertyType.EXTENDED, prop, options);
  }

  /**
   * Sets a default property from its old value, and emits `subject-property-changed` with
   * `{ property_name, old_value, value }` when the value changed (by deep
   * equality) unless `muted`. The event fires now, before `store()`.
   *
   * A function value is called with the old value (`undefined` when absent;
   * a copy, so mutating it is safe) and its result becomes the new value.
   * On an untyped subject (or a property typed `unknown`) the old value is
   * typed `any`, so `(n) => (n ?? 0) + 1` compiles; what the function
   * returns is checked when it runs.
   * It is a read-modify-write of storage either way, so concurrent
   * increments from any number of processes add up. With `useCache: false`
   * it runs at once as the storage's atomic compare-and-set. Cached, it runs
   * now on the cached value, and `store()` writes its result only if the
   * field still holds what the cache loaded; otherwise `store()` applies
   * every function set on that property since the load again, in order, to
   * the stored value (so the function may run more than once, and should
   * have no side effects). The event of this call is not sent again: its
   * `old_value` and `value` are those of the cache. A plain cached set of
   * the property ends that: the last writer wins, as in Python.
   *
   * A cached value is encoded when it is set, and `store()` writes that
   * encoding: changing an object after setting it changes neither what
   * `store()` writes nor, until it is set again, anything in storage.
   *
   * @param prop The property name.
   * @param value A function from the old value to the new one.
   * @param options Events and cache use.
   * @returns The new value and the old value (`undefined` when it was absent).
   * @throws {InvalidValueError} When the value does not survive JSON; nothing changes.
   */
  set<K extends PropName<Props>>(
    prop: K,
    value: (
      // deno-lint-ignore no-explicit-any -- an untyped value has no type to narrow; see above
      old: unknown extends Props[K] ? any : Props[K] | undefined,
    ) => Props[K],
    options?: SetOptions,
  ): Promise<[Props[K], Props[K] | undefined]>;
  /**
   * Sets a default property to a value. See the function form above for the
   * events, the cache and the errors.
   *
   * @param prop The property name.
   * @param value The new value.
   * @param options Events and cache use.
   * @returns The new value and the old value (`undefined` when it was absent).
   */
  set<K extends PropName<Props>>(
    prop: K,
    value: Props[K],
    options?: SetOptions,
  ): Promise<[Props[K], Props[K] | undefined]>;
  set<K extends PropName<Props>>(
    prop: K,
    value: Props[K] | ((old: Props[K] | undefined) => Props[K]),
    options?: SetOptions,
  ): Promise<[unknown, unknown]> {
    const result = this.#keeper.set(
      PropertyType.DEFAULT,
      prop,
      value,
      options?.useCache,
    );
    // Not async: a cached set with nobody listening settles without any
    // further promise, which is most of what a batch of sets costs.
    if (
      options?.muted === true ||
      !this.#events.listens(SubjectEventType.PROPERTY_CHANGED)
    ) {
      return result;
    }
    return result.then(async ([newValue, oldValue]) => {
      await this.#emitChanged(prop, newValue, oldValue, options?.extra);
      return [newValue, oldValue];
    });
  }

  /**
   * Sets several default properties in one call: cached, or (with
   * `useCache: false`) written by the storage in one atomic step. Emits one
   * `subject-property-changed` per property whose value changed, unless
   * `muted`. Every value is checked first, so one bad value means nothing
   * changes.
   *
   * Cached on a subject that has loaded nothing, it loads nothing either
   * unless a listener of `subject-property-changed` needs the old values:
   * `store()` writes the values in one round trip, and a read before it loads
   * the subject and sees them over what storage holds.
   *
   * A storage without `setMany()` gets one `set()` per property, which is
   * not atomic: if one fails after others were written, the error has
   * `executed: "maybe"` and the cache is reloaded on the next read.
   *
   * @param values The new values by property name (not functions).
   * @param options Events and cache use.
   * @throws {InvalidValueError} When a value does not survive JSON; nothing changes.
   */
  async setMany(
    values: Partial<Props>,
    options?: SetOptions,
  ): Promise<void> {
    const changes = await this.#keeper.setMany(
      PropertyType.DEFAULT,
      values,
      options?.useCache,
      options?.muted !== true &&
        this.#events.listens(SubjectEventType.PROPERTY_CHANGED),
    );
    for (const [name, newValue, oldValue] of changes ?? []) {
      await this.#emitChanged(name, newValue, oldValue, options?.extra);
    }
  }

  /**
   * Sets several extended properties in one call, as {@linkcode setMany}
   * does for default ones. Extended properties emit no events.
   *
   * @param values The new values by property name (not functions).
   * @param options Cache use.
   * @throws {InvalidValueError} When a value does not survive JSON; nothing changes.
   */
  async setExtMany(
    values: Partial<ExtProps>,
    options?: ExtOptions,
  ): Promise<void> {
    await this.#keeper.setMany(
      PropertyType.EXTENDED,
      values,
      options?.useCache,
      false,
    );
  }

  /**
   * Sets an extended property from its old value. Extended properties emit
   * no events.
   *
   * @param prop The property name.
   * @param value A function from the old value to the new one.
   * @param options Cache use.
   * @returns The new value and the old value (`undefined` when it was absent).
   * @throws {InvalidValueError} When the value does not survive JSON; nothing changes.
   */
  setExt<K extends PropName<ExtProps>>(
    prop: K,
    value: (
      // deno-lint-ignore no-explicit-any -- as in set(): an untyped value has no type to narrow
      old: unknown extends ExtProps[K] ? any : ExtProps[K] | undefined,
    ) => ExtProps[K],
    options?: ExtOptions,
  ): Promise<[ExtProps[K], ExtProps[K] | undefined]>;
  /**
   * Sets an extended property to a value. Extended properties emit no events.
   *
   * @param prop The property name.
   * @param value The new value.
   * @param options Cache use.
   * @returns The new value and the old value (`undefined` when it was absent).
   */
  setExt<K extends PropName<ExtProps>>(
    prop: K,
    value: ExtProps[K],
    options?: ExtOptions,
  ): Promise<[ExtProps[K], ExtProps[K] | undefined]>;
  setExt<K extends PropName<ExtProps>>(
    prop: K,
    value: ExtProps[K] | ((old: ExtProps[K] | undefined) => ExtProps[K]),
    options?: ExtOptions,
  ): Promise<[unknown, unknown]> {
    return this.#keeper.set(
      PropertyType.EXTENDED,
      prop,
      value,
      options?.useCache,
    );
  }

  /**
   * Deletes a default property, and emits `subject-property-deleted` with
   * `{ property_name, old_value }` unless `muted`.
   *
   * @param prop The property name.
   * @param options Events and cache use.
   * @throws {PropertyNotFoundError} When the property is absent.
   */
  async delete(
    prop: PropName<Props>,
    options?: DeleteOptions,
  ): Promise<void> {
    const [oldValue, corrupt] = await this.#keeper.delete(
      PropertyType.DEFAULT,
      prop,
      options?.useCache,
    );
    if (options?.muted !== true) {
      await this.#events.emit(
        SubjectEventType.PROPERTY_DELETED,
        this,
        deletion(prop, oldValue, corrupt),
        options?.extra,
      );
    }
  }

  /**
   * Deletes an extended property. Extended properties emit no events.
   *
   * @param prop The property name.
   * @param options Cache use.
   * @throws {PropertyNotFoundError} When the property is absent.
   */
  async deleteExt(
    prop: PropName<ExtProps>,
    options?: ExtOptions,
  ): Promise<void> {
    await this.#keeper.delete(PropertyType.EXTENDED, prop, options?.useCache);
  }

  /**
   * Tells whether a default property exists, according to the cache.
   *
   * @param prop The property name.
   * @returns Whether it exists.
   */
  has(prop: PropName<Props>): Promise<boolean> {
    return this.#keeper.withCache((cache) => cache.p.values.has(prop));
  }

  /**
   * Tells whether an extended property exists, according to the cache.
   *
   * @param prop The property name.
   * @returns Whether it exists.
   */
  hasExt(prop: PropName<ExtProps>): Promise<boolean> {
    return this.#keeper.withCache((cache) => cache.e.values.has(prop));
  }

  /**
   * Lists the names of the default properties, according to the cache.
   *
   * @returns The names.
   */
  keys(): Promise<string[]> {
    return this.#keeper.withCache((cache) => Array.from(cache.p.values.keys()));
  }

  /**
   * Reads the extended properties, according to the cache.
   *
   * @returns A copy of the extended properties by name.
   */
  getExtProps(): Promise<Partial<ExtProps>> {
    return this.#keeper.withCache((cache) =>
      toRecord(cache.e.values) as Partial<ExtProps>
    );
  }

  /**
   * Writes every cached change in one storage `store()` call (atomic, one
   * round trip on Redis), then drops the cache so the next read reloads.
   * Does nothing when there is nothing to write.
   *
   * Of the `store()`s every subject calls in one event-loop turn, 64 begin at
   * once and the rest 64 a turn after, so that the first writes leave while
   * the next are prepared (a `Promise.all` of a thousand stores would
   * otherwise send nothing until all of them were ready). A store waiting for
   * its turn counts as in flight for `KRules.close()`.
   *
   * Every cached `set()` and `delete()` called before it is included, even
   * one not awaited yet. A property set by functions only is written over
   * the value they read, or computed again (see {@linkcode set}); after
   * `maxCasAttempts` conflicts the store rejects with `ConflictError` and
   * writes nothing.
   *
   * If the write fails without having run (`notExecuted(error)`: refused
   * before it was sent, or an error reply such as `OOM`), the changes stay
   * cached, under any change made meanwhile, and a later `store()` writes
   * them. If it ran, or may have (`ReplicationError`, a timeout or a lost
   * connection after it was sent; the error's `executed` says which), its
   * changes are never sent again, since another client may have written
   * over them since, and the cache is dropped, so the next read loads what
   * storage holds.
   */
  store(): Promise<void> {
    return this.#keeper.store();
  }

  /**
   * Deletes the whole subject: deletes it in storage, drops the cache, then
   * emits `subject-property-deleted` for every default and extended property
   * it had and `subject-deleted` with `{ props, ext_props }`, the values it
   * had (cached changes not stored yet included).
   *
   * It deletes what the subject held when `flush()` was called, and nothing
   * after: a change made while the flush is in flight (cached or direct,
   * from an event handler or not) survives it, and the next `store()` writes
   * it. Direct writes and `store()` called meanwhile wait for the deletion.
   *
   * A field that does not hold valid JSON is deleted like any other; its
   * events report its old value as absent: `old_value: null` with
   * `corrupt: true` in its `subject-property-deleted`, and its name under
   * `corrupt: { props, ext_props }` (present only then) in `subject-deleted`.
   *
   * If the deletion fails, no event is emitted and the cache is as it was
   * before, with the changes made meanwhile on top: the next `store()`
   * writes both. (A `store()` that was in flight when `flush()` was called
   * and fails is not merged back.)
   *
   * @returns This subject.
   */
  async flush(): Promise<this> {
    const [props, extProps] = await this.#keeper.flush();
    for (const { names, values, corrupt } of [props, extProps]) {
      for (const name of names) {
        await this.#events.emit(
          SubjectEventType.PROPERTY_DELETED,
          this,
          deletion(name, values[name], corrupt.includes(name)),
        );
      }
    }
    const payload: Record<string, unknown> = {
      props: props.values,
      ext_props: extProps.values,
    };
    if (props.corrupt.length > 0 || extProps.corrupt.length > 0) {
      payload[PayloadConst.CORRUPT] = {
        props: props.corrupt,
        ext_props: extProps.corrupt,
      };
    }
    await this.#events.emit(SubjectEventType.SUBJECT_DELETED, this, payload);
    return this;
  }

  /**
   * Sets or clears the expiry of the whole subject in storage, at once
   * (not cached): after `ms` milliseconds the subject and all its
   * properties are deleted. Atomic on Redis, and safe on a cluster. Not a
   * Python feature: a Python service sharing the data sees the key vanish.
   *
   * Only stored data can expire: call it after `store()`. While the subject
   * holds cached changes not stored yet, it rejects with
   * `UnstoredChangesError` and changes nothing, rather than set an expiry
   * that the pending changes would not get. A write does not clear the
   * expiry; `expire(null)` does.
   *
   * @param ms Milliseconds from now, a positive integer, or `null` to keep
   *   the subject until it is deleted.
   * @returns Whether the subject has stored data (`false`: nothing to expire).
   * @throws {RangeError} When `ms` is not a positive integer or `null`.
   * @throws {TypeError} When the storage cannot expire subjects.
   * @throws {UnstoredChangesError} When the subject holds changes not stored yet.
   */
  expire(ms: number | null): Promise<boolean> {
    const storage = this.#storage;
    if (storage.expire === undefined) {
      return Promise.reject(this.#unsupported("expire()"));
    }
    if (this.#keeper.holdsUnstored()) {
      return Promise.reject(
        new UnstoredChangesError([this.name], {
          advice:
            "Call store() before expire(): only stored data can expire, and expire() is sent at once, not cached.",
        }),
      );
    }
    return storage.expire(ms);
  }

  /**
   * Reads the expiry of the whole subject from storage.
   *
   * @returns Milliseconds until the subject is deleted, or `null` when it
   *   has no expiry (or no stored data).
   * @throws {TypeError} When the storage cannot expire subjects.
   */
  ttl(): Promise<number | null> {
    const storage = this.#storage;
    if (storage.ttl === undefined) {
      return Promise.reject(this.#unsupported("ttl()"));
    }
    return storage.ttl();
  }

  /**
   * Describes the subject as one object, from the cache:
   * `{ name, ...props, ext: { ...extProps } }`. As in Python, a property
   * named `name` overrides the subject's name, while `ext` always holds the
   * extended properties.
   *
   * A field that does not hold valid JSON (written by another tool) makes
   * it reject with `CorruptValueError`, which names the field; with
   * `skipCorrupt: true` such fields are left out instead, as if absent.
   *
   * @param options Whether to leave out fields that do not hold valid JSON.
   * @returns The description.
   * @throws {CorruptValueError} When a field does not hold valid JSON and
   *   `skipCorrupt` is not set.
   */
  dict(options?: DictOptions): Promise<SubjectDict<Props, ExtProps>> {
    const skip = options?.skipCorrupt === true;
    return this.#keeper.withCache((cache) => {
      const result: Record<string, unknown> = {};
      setOwn(result, "name", this.name);
      if (skip) {
        const [props, extProps] = [cache.p.values, cache.e.values].map(
          takeSnapshot,
        );
        for (const name of Object.keys(props.values)) {
          setOwn(result, name, props.values[name]);
        }
        setOwn(result, "ext", extProps.values);
      } else {
        for (const [name, value] of cache.p.values) setOwn(result, name, value);
        setOwn(result, "ext", toRecord(cache.e.values));
      }
      return result as SubjectDict<Props, ExtProps>;
    });
  }

  /**
   * The information about the event that opened this subject.
   *
   * @returns The `eventInfo` given to `KRules.subject()`, or `{}`.
   */
  eventInfo(): Record<string, unknown> {
    return this.#eventInfo ??= {};
  }

  /**
   * The subject's name, as in Python's `str(subject)`.
   *
   * @returns The name.
   */
  toString(): string {
    return this.name;
  }

  async #emitChanged(
    prop: string,
    newValue: unknown,
    oldValue: unknown,
    extra: Record<string, unknown> | undefined,
  ): Promise<void> {
    if (jsonEqual(newValue, oldValue)) return;
    await this.#events.emit(
      SubjectEventType.PROPERTY_CHANGED,
      this,
      {
        [PayloadConst.PROPERTY_NAME]: prop,
        // null, not undefined, so the key survives JSON, as in Python.
        [PayloadConst.OLD_VALUE]: oldValue === undefined ? null : oldValue,
        [PayloadConst.VALUE]: newValue,
      },
      extra,
    );
  }

  #unsupported(call: string): TypeError {
    return new TypeError(
      `The storage of subject ${
        JSON.stringify(this.name)
      } cannot do ${call}; the Redis and memory storages can.`,
    );
  }

  /** Keeps a cached change that waits for the load in view of store(). */

  /** Tells the tracker the subject may hold changes now; cheap when it knows. */

  /** Tells the tracker where the subject stands, when that changed. */
}
