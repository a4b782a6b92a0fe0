import {
  decodeAll,
  decodeValue,
  encodeValue,
  FieldText,
  type UnsafeIntegers,
} from "../json/codec.ts";
import { checkSubjectName } from "../json/names.ts";
import {
  checkExpiry,
  checkProperty,
  encodeChanges,
  fieldOf,
  propertyText,
  recompute,
} from "./_checks.ts";
import { globMatcher } from "./_glob.ts";
import { PropertyNotFoundError } from "./errors.ts";
import { type Property, PropertyType } from "./property.ts";
import type {
  StorageContext,
  StorageFactory,
  StoreChanges,
  SubjectNamesOptions,
  SubjectStorage,
} from "./types.ts";

/** Options of {@linkcode createMemoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * What to do with integers beyond ±(2^53 − 1), as in the Redis storage:
   * `"reject"` refuses to store a `BigInt`; `"bigint"` stores it as a JSON
   * integer and reads such integers back as `BigInt`. See
   * {@linkcode UnsafeIntegers}.
   *
   * @default {"reject"}
   */
  unsafeIntegers?: UnsafeIntegers;
}

/**
 * Creates a storage factory that keeps subjects in a `Map` inside this
 * process: for tests and single-process tools. It behaves like the Redis
 * storage, errors and JSON checks included, and keeps each value as its JSON
 * text, so what comes back is always a copy, never the object that was
 * stored. All storages made by one factory share one map; separate factories
 * share nothing.
 *
 * Every operation runs to completion without yielding to other tasks, so a
 * function `set()` is an atomic read-modify-write within the process.
 *
 * @typeParam Integers The `unsafeIntegers` option; the factory carries it,
 *   so that subjects over a `"bigint"` factory may declare `bigint` values.
 * @param options How integers beyond ±(2^53 − 1) are treated.
 * @returns A factory of in-memory subject storages.
 *
 * @example
 * ```ts
 * import { createMemoryStorage, KRules } from "@x/redis-subjects";
 *
 * const krules = new KRules({ storage: createMemoryStorage() });
 * const user = krules.subject("user-1");
 * await user.set("name", "Ada");
 * await user.store();
 * console.log(await krules.subject("user-1").get("name")); // "Ada"
 * ```
 */
export function createMemoryStorage<
  Integers extends UnsafeIntegers = "reject",
>(
  options?: MemoryStorageOptions & { unsafeIntegers?: Integers },
): StorageFactory & { readonly unsafeIntegers: Integers } {
  const integers = options?.unsafeIntegers ?? "reject";
  if (integers !== "reject" && integers !== "bigint") {
    throw new TypeError(
      `unsafeIntegers must be "reject" or "bigint", got ${
        JSON.stringify(integers)
      }.`,
    );
  }
  const subjects = new MemorySubjects();
  const factory = (name: string, _context?: StorageContext): SubjectStorage =>
    new MemorySubjectStorage(name, subjects, integers);
  return Object.assign(factory, {
    subjectNames: (options?: SubjectNamesOptions): AsyncIterable<string> =>
      subjects.names(options),
    unsafeIntegers: integers as Integers,
  });
}

/** The subjects of one memory factory: fields by subject, and expiries. */
class MemorySubjects {
  readonly #fields = new Map<string, Map<string, string>>();
  // Deadlines in epoch milliseconds; a subject past its deadline is gone.
  readonly #deadlines = new Map<string, number>();

  /** The subject's fields, or `undefined` when it has none (or expired). */
  get(name: string): Map<string, string> | undefined {
    const deadline = this.#deadlines.get(name);
    if (deadline !== undefined && deadline <= Date.now()) this.delete(name);
    return this.#fields.get(name);
  }

  /** The subject's fields, created empty if needed. */
  getForWrite(name: string): Map<string, string> {
    let fields = this.get(name);
    if (fields === undefined) {
      fields = new Map();
      this.#fields.set(name, fields);
    }
    return fields;
  }

  delete(name: string): void {
    this.#fields.delete(name);
    this.#deadlines.delete(name);
  }

  /** Sets or clears a subject's expiry; returns whether it has data. */
  expire(name: string, ms: number | null): boolean {
    if (this.get(name) === undefined) return false;
    if (ms === null) this.#deadlines.delete(name);
    else this.#deadlines.set(name, Date.now() + ms);
    return true;
  }

  /** Milliseconds left, or `null` without an expiry or data. */
  ttl(name: string): number | null {
    if (this.get(name) === undefined) return null;
    const deadline = this.#deadlines.get(name);
    return deadline === undefined ? null : deadline - Date.now();
  }

  async *names(options?: SubjectNamesOptions): AsyncGenerator<string> {
    const match = options?.match ?? "*";
    if (typeof match !== "string" || !match.isWellFormed()) {
      throw new TypeError(
        'match must be a string of well-formed Unicode, e.g. "user-*".',
      );
    }
    const matches = globMatcher(match);
    // A snapshot, so subjects written while the caller iterates do not
    // disturb the walk; each is still checked when its turn comes.
    for (const name of Array.from(this.#fields.keys())) {
      if (matches(name) && this.get(name) !== undefined) yield name;
    }
  }
}

class MemorySubjectStorage implements SubjectStorage {
  readonly unsafeIntegers: UnsafeIntegers;
  readonly #subjects: MemorySubjects;
  readonly #name: string;
  // Named like the Redis key, so that errors read the same on both storages.
  readonly #key: string;

  constructor(
    name: string,
    subjects: MemorySubjects,
    integers: UnsafeIntegers,
  ) {
    checkSubjectName(name);
    this.unsafeIntegers = integers;
    this.#name = name;
    this.#key = `s:${name}`;
    this.#subjects = subjects;
  }

  isConcurrencySafe(): boolean {
    return true;
  }

  isPersistent(): boolean {
    return false;
  }

  load(): Promise<
    [props: Record<string, unknown>, extProps: Record<string, unknown>]
  > {
    return settle(() => {
      const [props, extProps] = this.#texts();
      return [decodeAll(props), decodeAll(extProps)];
    });
  }

  loadLazy(): Promise<
    [props: Map<string, FieldText>, extProps: Map<string, FieldText>]
  > {
    return Promise.resolve(this.#texts());
  }

  store(changes: StoreChanges = {}): Promise<void> {
    return settle(() => {
      // Everything is encoded before the first write, so a bad value means
      // nothing is written, as in the Redis storage.
      const encoded = encodeChanges(changes, this.unsafeIntegers);
      if (encoded === undefined) return;
      const { sets, deletes, checks } = encoded;
      // Nothing runs in between, so a changed field's value is computed
      // again once, from what it holds now, and the store goes on.
      for (const check of checks) {
        const current = this.#fields()?.get(check.field) ?? null;
        if (current !== check.expected) {
          recompute(this.#key, check, sets, current, this.unsafeIntegers);
        }
      }
      if (sets.length > 0) {
        const fields = this.#fieldsForWrite();
        for (let i = 0; i < sets.length; i += 2) {
          fields.set(sets[i], sets[i + 1]);
        }
      }
      for (const field of deletes) this.#deleteField(field);
    });
  }

  set(
    prop: Property,
    oldValueDefault?: unknown,
  ): Promise<[newValue: unknown, oldValue: unknown]> {
    return settle(() => {
      checkProperty(prop);
      const field = fieldOf(prop);
      const oldText = this.#fields()?.get(field);
      const old = oldText === undefined
        ? oldValueDefault
        : this.#decode(field, oldText);
      const value = typeof prop.value === "function"
        ? (prop.value as (old: unknown) => unknown)(old)
        : prop.value;
      const text = encodeValue(prop.name, value, this.unsafeIntegers);
      this.#fieldsForWrite().set(field, text);
      return [value, old];
    });
  }

  setMany(props: readonly Property[]): Promise<unknown[]> {
    return settle(() => {
      // Everything is encoded before the first write, as in store().
      const encoded = props.map((prop) => {
        const text = propertyText(prop, this.unsafeIntegers);
        return [fieldOf(prop), text];
      });
      if (encoded.length === 0) return [];
      const fields = this.#fieldsForWrite();
      return encoded.map(([field, text]) => {
        const old = fields.get(field);
        fields.set(field, text);
        return old === undefined ? undefined : this.#decode(field, old);
      });
    });
  }

  expire(ms: number | null): Promise<boolean> {
    return settle(() => {
      checkExpiry(ms);
      return this.#subjects.expire(this.#name, ms);
    });
  }

  ttl(): Promise<number | null> {
    return settle(() => this.#subjects.ttl(this.#name));
  }

  get(prop: Property): Promise<unknown> {
    return settle(() => {
      checkProperty(prop);
      const field = fieldOf(prop);
      const text = this.#fields()?.get(field);
      if (text === undefined) {
        throw new PropertyNotFoundError(this.#name, prop.name, {
          extended: prop.type === PropertyType.EXTENDED,
        });
      }
      return this.#decode(field, text);
    });
  }

  delete(prop: Property): Promise<void> {
    return settle(() => {
      checkProperty(prop);
      this.#deleteField(fieldOf(prop));
    });
  }

  getExtProps(): Promise<Record<string, unknown>> {
    return settle(() => decodeAll(this.#texts()[1]));
  }

  flush(): Promise<this> {
    this.#subjects.delete(this.#name);
    return Promise.resolve(this);
  }

  /** The default and the extended properties' texts, by property name. */
  #texts(): [Map<string, FieldText>, Map<string, FieldText>] {
    const props = new Map<string, FieldText>();
    const extProps = new Map<string, FieldText>();
    for (const [field, text] of this.#fields() ?? []) {
      const target = field[0] === PropertyType.DEFAULT ? props : extProps;
      const name = field.slice(1);
      target.set(
        name,
        FieldText.of(this.#key, field[0], name, text, this.unsafeIntegers),
      );
    }
    return [props, extProps];
  }

  #decode(field: string, text: string): unknown {
    return decodeValue(this.#key, field, text, this.unsafeIntegers);
  }

  #fields(): Map<string, string> | undefined {
    return this.#subjects.get(this.#name);
  }

  #fieldsForWrite(): Map<string, string> {
    return this.#subjects.getForWrite(this.#name);
  }

  // Like Redis, which removes a hash with its last field.
  #deleteField(field: string): void {
    const fields = this.#fields();
    if (fields === undefined) return;
    fields.delete(field);
    if (fields.size === 0) this.#subjects.delete(this.#name);
  }
}

/**
 * Runs a synchronous operation and reports its outcome as a promise, so that
 * errors reject instead of throwing, while the operation itself still runs
 * without yielding, which is what makes it atomic.
 */
function settle<T>(operation: () => T): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(error);
  }
}
