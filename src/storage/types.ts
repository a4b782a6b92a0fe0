import type { UnsafeIntegers } from "../json/codec.ts";
import type { Property } from "./property.ts";

/**
 * The writes one `store()` call applies together: new properties, changed
 * properties and removed properties. Empty or missing lists mean nothing.
 */
export interface StoreChanges {
  /** Properties that did not exist before. */
  inserts?: readonly Property[];
  /** Properties that existed before and get a new value. */
  updates?: readonly Property[];
  /** Properties to remove; their `value` is ignored. */
  deletes?: readonly Property[];
  /**
   * Read-modify-writes among the inserts and updates: each of these
   * properties is written only if its field still holds the text its value
   * was computed from. When it does not, the storage computes the value
   * again from what the field holds, and writes that instead, in the same
   * atomic step as the rest of the store. A storage that ignores conditions
   * writes the values as given (last writer wins).
   */
  conditions?: readonly StoreCondition[];
}

/**
 * How a value in a `store()` was computed: from which stored text, and by
 * what function, so that the storage can compute it again when another
 * writer changed the field since it was read.
 */
export interface StoreCondition {
  /** The property (name and type) whose value in `inserts` or `updates` this describes. */
  readonly prop: Property;
  /** The field's text the value was computed from, exactly as read; `null` when the field was absent. */
  readonly expected: string | null;
  /**
   * Computes the value from the one the field holds now (`undefined` when
   * absent). Called only when the field no longer holds `expected`, maybe
   * more than once, so it should have no side effects.
   */
  readonly update: (old: unknown) => unknown;
}

/**
 * What KRules knows about the event that made it open a subject. Storage
 * factories receive it so they could pick a backend per event; the ones in
 * this module ignore it.
 */
export interface StorageContext {
  /** The event's metadata, e.g. its type and source. */
  eventInfo?: Record<string, unknown>;
  /** The event's payload. */
  eventData?: unknown;
}

/** Options of {@linkcode StorageFactory.subjectNames} and `KRules.subjectNames()`. */
export interface SubjectNamesOptions {
  /**
   * A Redis glob the names must match: `*` any run of characters, `?` any
   * one, `[abc]` one of a set, `\` before a character to match it as is.
   *
   * @default {"*"}
   */
  match?: string;
}

/**
 * Opens the storage of one subject, and may list the subjects it holds.
 * Any function of this shape is a factory; `subjectNames` is optional.
 */
export interface StorageFactory {
  /**
   * Opens the storage of one subject.
   *
   * @param name The subject name; an empty name throws `TypeError`.
   * @param context The event that opens the subject, if any.
   * @returns The subject's storage.
   */
  (name: string, context?: StorageContext): SubjectStorage;
  /**
   * Lists the names of the subjects that have data, without blocking the
   * store while it does. A name may come more than once if its subject is
   * written meanwhile; a subject created or deleted meanwhile may be left out.
   *
   * @param options Which names to list.
   * @returns The names, as they are found.
   */
  subjectNames?(options?: SubjectNamesOptions): AsyncIterable<string>;
  /**
   * `"bigint"` when every storage this factory opens reads integers beyond
   * ±(2^53 − 1) exactly as `BigInt` and stores `BigInt` values; a factory
   * that says so lets `KRules.subject<Props>()` declare `bigint` values.
   * Absent means they are refused.
   */
  readonly unsafeIntegers?: "reject" | "bigint";
}

/**
 * A stored property value that is decoded only when read, as
 * {@linkcode SubjectStorage.loadLazy} returns it.
 */
export interface EncodedValue {
  /**
   * Decodes the value; each call decodes again.
   *
   * @returns The value.
   * @throws {CorruptValueError} When the stored text is not valid JSON.
   */
  decode(): unknown;
}

/**
 * The persistence of one subject: two maps of JSON values, default and
 * extended properties. The contract is the one of KRules' Python storages.
 */
export interface SubjectStorage {
  /**
   * How the storage reads and writes integers beyond ±(2^53 − 1); a
   * `Subject` checks the values it caches by the same rule. Optional: absent
   * means `"reject"`. A decorator should forward it.
   */
  readonly unsafeIntegers?: UnsafeIntegers;
  /** Whether `set()` with a function value is an atomic read-modify-write across processes. */
  isConcurrencySafe(): boolean;
  /** Whether values outlive the process. */
  isPersistent(): boolean;
  /**
   * Reads every property.
   *
   * @returns The default properties and the extended properties.
   */
  load(): Promise<
    [props: Record<string, unknown>, extProps: Record<string, unknown>]
  >;
  /**
   * Reads every property like `load()`, but leaves each value to be decoded
   * when it is read. Optional: a `Subject` uses it when it is there, so that
   * loading a wide subject costs no decoding of the properties it never
   * reads, and a field that is not JSON fails only the reads of that field.
   * Without it, the `Subject` falls back to `load()`.
   *
   * A decorator that wraps a storage should forward it when the wrapped
   * storage has it, like every other method, so that it behaves exactly like
   * the storage it wraps.
   *
   * @returns The default properties and the extended properties, undecoded.
   */
  loadLazy?(): Promise<
    [props: Map<string, EncodedValue>, extProps: Map<string, EncodedValue>]
  >;
  /**
   * Applies inserts, updates and deletes atomically. A property with a
   * condition is written only if its field still holds the condition's
   * `expected` text; otherwise its value is computed again from what the
   * field holds, within the same atomic step (or after a conflict, in a new
   * attempt), and the rest of the store is written with it.
   *
   * @param changes The writes to apply; nothing happens when they are empty.
   */
  store(changes?: StoreChanges): Promise<void>;
  /**
   * Writes one property. A function value is called with the old value and
   * its result is written, atomically with respect to other writers.
   *
   * @param prop The property and its value (or a function of the old value).
   * @param oldValueDefault What counts as the old value when the property is absent.
   * @returns The new value and the old value.
   */
  set(
    prop: Property,
    oldValueDefault?: unknown,
  ): Promise<[newValue: unknown, oldValue: unknown]>;
  /**
   * Writes several properties as one atomic step, returning the values they
   * replaced. Optional: without it, a `Subject` writes them one `set()` at a
   * time. Every property and value is checked first, so one bad value means
   * nothing is written.
   *
   * @param props The properties and their values (not functions).
   * @returns The old values, in the order of `props` (`undefined` where absent).
   */
  setMany?(props: readonly Property[]): Promise<unknown[]>;
  /**
   * Sets or clears the expiry of the whole subject, atomically. Optional:
   * a `Subject` refuses `expire()` over a storage without it.
   *
   * @param ms Milliseconds from now after which the subject is deleted, or
   *   `null` to keep it until it is deleted.
   * @returns Whether the subject has data (an absent subject has nothing to expire).
   */
  expire?(ms: number | null): Promise<boolean>;
  /**
   * Reads the expiry of the whole subject. Optional, like `expire()`.
   *
   * @returns Milliseconds left, or `null` when the subject has no expiry or no data.
   */
  ttl?(): Promise<number | null>;
  /**
   * Reads one property; rejects with `PropertyNotFoundError` when it is absent.
   *
   * @param prop The property to read; its value is ignored.
   * @returns The stored value (JSON `null` is a value).
   */
  get(prop: Property): Promise<unknown>;
  /**
   * Removes one property; an absent property is not an error.
   *
   * @param prop The property to remove; its value is ignored.
   */
  delete(prop: Property): Promise<void>;
  /**
   * Reads the extended properties only.
   *
   * @returns The extended properties by name.
   */
  getExtProps(): Promise<Record<string, unknown>>;
  /**
   * Deletes the whole subject.
   *
   * @returns This storage, for chaining.
   */
  flush(): Promise<this>;
}
