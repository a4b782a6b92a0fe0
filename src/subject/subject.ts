import { copyValue, encodeValue } from "../json/codec.ts";
import { jsonEqual } from "../json/equal.ts";
import { checkPropertyName, checkSubjectName } from "../json/names.ts";
import { setOwn, toRecord } from "../json/record.ts";
import { PropertyNotFoundError } from "../storage/errors.ts";
import {
  PropertyType,
  type PropertyTypeValue,
  SubjectExtProperty,
  SubjectProperty,
} from "../storage/property.ts";
import type { Property } from "../storage/property.ts";
import type { SubjectStorage } from "../storage/types.ts";
import { LazyValues } from "./_lazy_values.ts";
import { PayloadConst, SubjectEventType } from "./events.ts";

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
}

/** Options of {@linkcode Subject.get} and {@linkcode Subject.getExt}. */
export interface GetOptions {
  /**
   * The value to return when the property is absent, instead of rejecting
   * with `PropertyNotFoundError`. Giving `undefined` counts as giving one.
   */
  default?: unknown;
  /**
   * Read the cache (loading it first if needed), or read storage directly
   * and refresh the cache if there is one.
   *
   * @default {the subject's useCacheDefault}
   */
  useCache?: boolean;
}

/** Options of {@linkcode Subject.set}. */
export interface SetOptions {
  /**
   * Skip the `subject-property-changed` event.
   *
   * @default {false}
   */
  muted?: boolean;
  /** Context passed to event handlers as `event.extra`. */
  extra?: Record<string, unknown>;
  /**
   * Change only the cache until `store()`, or write to storage now (a
   * function value then gets the storage's atomic compare-and-set).
   *
   * @default {the subject's useCacheDefault}
   */
  useCache?: boolean;
}

/** Options of {@linkcode Subject.delete}. */
export interface DeleteOptions {
  /**
   * Skip the `subject-property-deleted` event.
   *
   * @default {false}
   */
  muted?: boolean;
  /** Context passed to event handlers as `event.extra`. */
  extra?: Record<string, unknown>;
  /**
   * Change only the cache until `store()`, or delete from storage now.
   *
   * @default {the subject's useCacheDefault}
   */
  useCache?: boolean;
}

/** Options of {@linkcode Subject.setExt} and {@linkcode Subject.deleteExt}. */
export interface ExtOptions {
  /**
   * Change only the cache until `store()`, or write to storage now.
   *
   * @default {the subject's useCacheDefault}
   */
  useCache?: boolean;
}

interface CacheSection {
  readonly values: Map<string, unknown>;
  // Names whose cached value storage does not have yet, by what store() must do.
  readonly created: Set<string>;
  readonly updated: Set<string>;
  readonly deleted: Set<string>;
}

type Cache = Record<PropertyTypeValue, CacheSection>;

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
 * Create subjects with `KRules.subject()`, which opens their storage.
 *
 * @example
 * ```ts
 * import { createMemoryStorage, KRules } from "@x/redis-subjects";
 *
 * const krules = new KRules({ storage: createMemoryStorage() });
 * const user = krules.subject("user-123");
 * await user.set("email", "john@example.com");
 * await user.set("logins", (n) => (typeof n === "number" ? n : 0) + 1);
 * await user.store(); // one write for both
 * console.log(await user.dict()); // { name: "user-123", email: "john@example.com", logins: 1, ext: {} }
 * ```
 */
export class Subject {
  /** The subject's name, e.g. `"user-123"`. */
  readonly name: string;
  readonly #storage: SubjectStorage;
  readonly #events: EventSink;
  readonly #eventInfo: Record<string, unknown>;
  readonly #useCacheDefault: boolean;
  #cache: Cache | null = null;
  #loading: Promise<void> | null = null;
  // Bumped whenever a load in flight may have missed a write, so its result
  // is dropped and loaded again rather than cached stale.
  #generation = 0;

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
    this.#eventInfo = options.eventInfo ?? {};
    this.#useCacheDefault = options.useCacheDefault ?? true;
  }

  /**
   * Reads a default property.
   *
   * @param prop The property name.
   * @param options A default for when it is absent, and whether to use the cache.
   * @returns The value, or the default.
   * @throws {PropertyNotFoundError} When the property is absent and no default is given.
   */
  get(prop: string, options?: GetOptions): Promise<unknown> {
    return this.#get(PropertyType.DEFAULT, prop, options);
  }

  /**
   * Reads an extended property.
   *
   * @param prop The property name.
   * @param options A default for when it is absent, and whether to use the cache.
   * @returns The value, or the default.
   * @throws {PropertyNotFoundError} When the property is absent and no default is given.
   */
  getExt(prop: string, options?: GetOptions): Promise<unknown> {
    return this.#get(PropertyType.EXTENDED, prop, options);
  }

  /**
   * Sets a default property from its old value, and emits `subject-property-changed` with
   * `{ property_name, old_value, value }` when the value changed (by deep
   * equality) unless `muted`.
   *
   * A function value is called with the old value (`undefined` when absent;
   * a copy, so mutating it is safe) and its result becomes the new value.
   * With `useCache: false` it runs as the storage's atomic read-modify-write,
   * so concurrent increments from any number of processes add up.
   *
   * @param prop The property name.
   * @param value A function from the old value to the new one.
   * @param options Events and cache use.
   * @returns The new value and the old value (`undefined` when it was absent).
   * @throws {InvalidValueError} When the value does not survive JSON; nothing changes.
   */
  set(
    prop: string,
    value: (old: unknown) => unknown,
    options?: SetOptions,
  ): Promise<[unknown, unknown]>;
  /**
   * Sets a default property to a value. See the function form above for the
   * events, the cache and the errors.
   *
   * @param prop The property name.
   * @param value The new value.
   * @param options Events and cache use.
   * @returns The new value and the old value (`undefined` when it was absent).
   */
  set(
    prop: string,
    value: unknown,
    options?: SetOptions,
  ): Promise<[unknown, unknown]>;
  set(
    prop: string,
    value: unknown,
    options: SetOptions = {},
  ): Promise<[unknown, unknown]> {
    const result = this.#set(
      PropertyType.DEFAULT,
      prop,
      value,
      options.useCache,
    );
    // Not async: a cached set with nobody listening settles without any
    // further promise, which is most of what a batch of sets costs.
    if (
      options.muted === true ||
      !this.#events.listens(SubjectEventType.PROPERTY_CHANGED)
    ) {
      return result;
    }
    return result.then(async ([newValue, oldValue]) => {
      if (!jsonEqual(newValue, oldValue)) {
        await this.#events.emit(
          SubjectEventType.PROPERTY_CHANGED,
          this,
          {
            [PayloadConst.PROPERTY_NAME]: prop,
            [PayloadConst.OLD_VALUE]: oldValue,
            [PayloadConst.VALUE]: newValue,
          },
          options.extra,
        );
      }
      return [newValue, oldValue];
    });
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
  setExt(
    prop: string,
    value: (old: unknown) => unknown,
    options?: ExtOptions,
  ): Promise<[unknown, unknown]>;
  /**
   * Sets an extended property to a value. Extended properties emit no events.
   *
   * @param prop The property name.
   * @param value The new value.
   * @param options Cache use.
   * @returns The new value and the old value (`undefined` when it was absent).
   */
  setExt(
    prop: string,
    value: unknown,
    options?: ExtOptions,
  ): Promise<[unknown, unknown]>;
  setExt(
    prop: string,
    value: unknown,
    options: ExtOptions = {},
  ): Promise<[unknown, unknown]> {
    return this.#set(PropertyType.EXTENDED, prop, value, options.useCache);
  }

  /**
   * Deletes a default property, and emits `subject-property-deleted` with
   * `{ property_name, old_value }` unless `muted`.
   *
   * @param prop The property name.
   * @param options Events and cache use.
   * @throws {PropertyNotFoundError} When the property is absent.
   */
  async delete(prop: string, options?: DeleteOptions): Promise<void> {
    const oldValue = await this.#delete(
      PropertyType.DEFAULT,
      prop,
      options?.useCache,
    );
    if (options?.muted !== true) {
      await this.#events.emit(
        SubjectEventType.PROPERTY_DELETED,
        this,
        {
          [PayloadConst.PROPERTY_NAME]: prop,
          [PayloadConst.OLD_VALUE]: oldValue,
        },
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
  async deleteExt(prop: string, options?: ExtOptions): Promise<void> {
    await this.#delete(PropertyType.EXTENDED, prop, options?.useCache);
  }

  /**
   * Tells whether a default property exists, according to the cache.
   *
   * @param prop The property name.
   * @returns Whether it exists.
   */
  has(prop: string): Promise<boolean> {
    return this.#withCache((cache) => cache.p.values.has(prop));
  }

  /**
   * Tells whether an extended property exists, according to the cache.
   *
   * @param prop The property name.
   * @returns Whether it exists.
   */
  hasExt(prop: string): Promise<boolean> {
    return this.#withCache((cache) => cache.e.values.has(prop));
  }

  /**
   * Lists the names of the default properties, according to the cache.
   *
   * @returns The names.
   */
  keys(): Promise<string[]> {
    return this.#withCache((cache) => Array.from(cache.p.values.keys()));
  }

  /**
   * Reads the extended properties, according to the cache.
   *
   * @returns A copy of the extended properties by name.
   */
  getExtProps(): Promise<Record<string, unknown>> {
    return this.#withCache((cache) => toRecord(cache.e.values));
  }

  /**
   * Writes every cached change in one storage `store()` call (atomic, one
   * round trip on Redis), then drops the cache so the next read reloads.
   * Does nothing when no cache is loaded. If the write fails, the changes
   * stay cached and a later `store()` tries again.
   */
  async store(): Promise<void> {
    const cache = this.#cache;
    if (cache === null) return;
    const inserts: Property[] = [];
    const updates: Property[] = [];
    const deletes: Property[] = [];
    for (const type of [PropertyType.DEFAULT, PropertyType.EXTENDED]) {
      const section = cache[type];
      for (const name of section.created) {
        inserts.push(makeProperty(type, name, section.values.get(name)));
      }
      for (const name of section.updated) {
        updates.push(makeProperty(type, name, section.values.get(name)));
      }
      for (const name of section.deleted) {
        deletes.push(makeProperty(type, name));
      }
    }
    // Dropped before the write, so that changes made while it is in flight
    // go to a fresh cache instead of one that is about to be discarded.
    this.#cache = null;
    this.#generation++;
    try {
      await this.#storage.store({ inserts, updates, deletes });
    } catch (error) {
      if (this.#cache === null && this.#loading === null) this.#cache = cache;
      throw error;
    }
  }

  /**
   * Deletes the whole subject: emits `subject-property-deleted` for every
   * default and extended property, flushes the storage, drops the cache, and
   * emits `subject-deleted` with `{ props, ext_props }`, the values it had.
   *
   * @returns This subject.
   */
  async flush(): Promise<this> {
    const [props, extProps] = await this.#withCache((cache) => [
      toRecord(cache.p.values),
      toRecord(cache.e.values),
    ]);
    for (const values of [props, extProps]) {
      for (const [name, value] of Object.entries(values)) {
        await this.#events.emit(SubjectEventType.PROPERTY_DELETED, this, {
          [PayloadConst.PROPERTY_NAME]: name,
          [PayloadConst.OLD_VALUE]: value,
        });
      }
    }
    await this.#storage.flush();
    this.#cache = null;
    this.#generation++;
    await this.#events.emit(SubjectEventType.SUBJECT_DELETED, this, {
      props,
      ext_props: extProps,
    });
    return this;
  }

  /**
   * Describes the subject as one object, from the cache:
   * `{ name, ...props, ext: { ...extProps } }`. As in Python, a property
   * named `name` overrides the subject's name, while `ext` always holds the
   * extended properties.
   *
   * @returns The description.
   */
  dict(): Promise<Record<string, unknown>> {
    return this.#withCache((cache) => {
      const result: Record<string, unknown> = {};
      setOwn(result, "name", this.name);
      for (const [name, value] of cache.p.values) setOwn(result, name, value);
      setOwn(result, "ext", toRecord(cache.e.values));
      return result;
    });
  }

  /**
   * The information about the event that opened this subject.
   *
   * @returns The `eventInfo` given to `KRules.subject()`, or `{}`.
   */
  eventInfo(): Record<string, unknown> {
    return this.#eventInfo;
  }

  /**
   * The subject's name, as in Python's `str(subject)`.
   *
   * @returns The name.
   */
  toString(): string {
    return this.name;
  }

  async #get(
    type: PropertyTypeValue,
    prop: string,
    options: GetOptions = {},
  ): Promise<unknown> {
    checkPropertyName(prop);
    const hasDefault = Object.hasOwn(options, "default");
    if (options.useCache ?? this.#useCacheDefault) {
      return await this.#withCache((cache) => {
        const values = cache[type].values;
        if (values.has(prop)) return values.get(prop);
        if (hasDefault) return options.default;
        throw new PropertyNotFoundError(prop, type === PropertyType.EXTENDED);
      });
    }
    try {
      const value = await this.#storage.get(makeProperty(type, prop));
      this.#refresh(type, prop, true, value);
      return value;
    } catch (error) {
      if (!(error instanceof PropertyNotFoundError)) throw error;
      this.#refresh(type, prop, false);
      if (hasDefault) return options.default;
      throw error;
    }
  }

  #set(
    type: PropertyTypeValue,
    prop: string,
    value: unknown,
    useCache: boolean | undefined,
  ): Promise<[unknown, unknown]> {
    try {
      checkPropertyName(prop);
      if (!(useCache ?? this.#useCacheDefault)) {
        return this.#storage.set(makeProperty(type, prop, value)).then(
          (result) => {
            this.#refresh(type, prop, true, result[0]);
            return result;
          },
        );
      }
      const cache = this.#cache;
      if (cache !== null) {
        return Promise.resolve(setCached(cache[type], prop, value));
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#withCache((cache) => setCached(cache[type], prop, value));
  }

  /** Deletes a property and returns the value it had. */
  async #delete(
    type: PropertyTypeValue,
    prop: string,
    useCache: boolean | undefined,
  ): Promise<unknown> {
    checkPropertyName(prop);
    if (!(useCache ?? this.#useCacheDefault)) {
      const property = makeProperty(type, prop);
      const oldValue = await this.#storage.get(property);
      await this.#storage.delete(property);
      this.#refresh(type, prop, false);
      return oldValue;
    }
    return await this.#withCache((cache) => {
      const section = cache[type];
      if (!section.values.has(prop)) {
        throw new PropertyNotFoundError(prop, type === PropertyType.EXTENDED);
      }
      const oldValue = section.values.get(prop);
      section.values.delete(prop);
      section.created.delete(prop);
      section.updated.delete(prop);
      section.deleted.add(prop);
      return oldValue;
    });
  }

  /**
   * Runs `use` on the loaded cache, loading it first if needed. `use` runs
   * synchronously right after the check, so no other call can swap the
   * cache out from under it.
   */
  async #withCache<T>(use: (cache: Cache) => T): Promise<T> {
    while (this.#cache === null) await this.#load();
    return use(this.#cache);
  }

  #load(): Promise<void> {
    // Concurrent first uses share one load() instead of racing several.
    if (this.#loading === null) {
      const generation = this.#generation;
      const storage = this.#storage;
      // Values are decoded when read, where the storage allows it: a subject
      // usually reads a few of its properties, not all of them.
      const loaded: Promise<[Map<string, unknown>, Map<string, unknown>]> =
        storage.loadLazy !== undefined
          ? storage.loadLazy().then(([props, extProps]) => [
            new LazyValues(props),
            new LazyValues(extProps),
          ])
          : storage.load().then(([props, extProps]) => [
            toMap(props),
            toMap(extProps),
          ]);
      this.#loading = loaded.then(([props, extProps]) => {
        if (generation !== this.#generation || this.#cache !== null) return;
        this.#cache = {
          [PropertyType.DEFAULT]: newSection(props),
          [PropertyType.EXTENDED]: newSection(extProps),
        };
      }).finally(() => {
        this.#loading = null;
      });
    }
    return this.#loading;
  }

  /**
   * Makes a loaded cache agree with storage after a direct read or write.
   * The property is no longer a pending change: storage already holds what
   * the cache now says, so `store()` must not write it back over a newer value.
   */
  #refresh(
    type: PropertyTypeValue,
    prop: string,
    present: boolean,
    value?: unknown,
  ): void {
    if (this.#cache === null) {
      if (this.#loading !== null) this.#generation++;
      return;
    }
    const section = this.#cache[type];
    if (present) section.values.set(prop, value);
    else section.values.delete(prop);
    section.created.delete(prop);
    section.updated.delete(prop);
    section.deleted.delete(prop);
  }
}

/** Sets a property in a loaded cache section and records the change for store(). */
function setCached(
  section: CacheSection,
  prop: string,
  value: unknown,
): [unknown, unknown] {
  const present = section.values.has(prop);
  const oldValue = section.values.get(prop);
  const newValue = typeof value === "function"
    ? value(present ? copyValue(oldValue) : undefined)
    : value;
  // Checked now so the error points at this call, not at a later store().
  encodeValue(prop, newValue);
  if (!section.created.has(prop)) {
    if (present || section.deleted.has(prop)) section.updated.add(prop);
    else section.created.add(prop);
  }
  section.deleted.delete(prop);
  section.values.set(prop, newValue);
  return [newValue, oldValue];
}

function newSection(values: Map<string, unknown>): CacheSection {
  return {
    values,
    created: new Set(),
    updated: new Set(),
    deleted: new Set(),
  };
}

function toMap(values: Record<string, unknown>): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (const key of Object.keys(values)) map.set(key, values[key]);
  return map;
}

function makeProperty(
  type: PropertyTypeValue,
  name: string,
  value?: unknown,
): Property {
  return type === PropertyType.DEFAULT
    ? new SubjectProperty(name, value)
    : new SubjectExtProperty(name, value);
}
