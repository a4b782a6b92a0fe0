import { encodeValue } from "../json/codec.ts";
import { checkSubjectName } from "../json/names.ts";
import { checkExpiry, checkProperty, encodeChanges } from "./_checks.ts";
import { PropertyNotFoundError } from "./errors.ts";
import { type Property, PropertyType } from "./property.ts";
import type {
  StorageContext,
  StorageFactory,
  StoreChanges,
  SubjectNamesOptions,
  SubjectStorage,
} from "./types.ts";

/**
 * Creates a storage factory that keeps nothing, as KRules' Python default
 * does: subjects live only in their cache until `store()` drops it. KRules
 * never picks it by itself; choose it explicitly, for code whose subjects
 * need not outlive a `store()`.
 *
 * Reads find nothing: `load()` and `getExtProps()` return empty maps and
 * `get()` rejects with `PropertyNotFoundError` (the Python original returns
 * `None`, which here would be indistinguishable from a stored `null`).
 * `set()` reports `oldValueDefault` as the old value and, for a function, its
 * result as the new one. Writes still check their input, so code that works
 * on the empty storage does not start failing on a real one.
 *
 * @returns A factory of storages that store nothing.
 */
export function createEmptyStorage(): StorageFactory {
  const factory = (name: string, _context?: StorageContext): SubjectStorage => {
    checkSubjectName(name);
    return new EmptySubjectStorage(name);
  };
  return Object.assign(factory, {
    // It keeps no subjects, so there is nothing to list.
    subjectNames: async function* (
      _options?: SubjectNamesOptions,
    ): AsyncGenerator<string> {},
  });
}

class EmptySubjectStorage implements SubjectStorage {
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  isConcurrencySafe(): boolean {
    return false;
  }

  isPersistent(): boolean {
    return false;
  }

  load(): Promise<
    [props: Record<string, unknown>, extProps: Record<string, unknown>]
  > {
    return Promise.resolve([{}, {}]);
  }

  store(changes: StoreChanges = {}): Promise<void> {
    try {
      // Checked like a real store, and then dropped.
      encodeChanges(changes);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  set(
    prop: Property,
    oldValueDefault?: unknown,
  ): Promise<[newValue: unknown, oldValue: unknown]> {
    try {
      checkProperty(prop);
      const value = typeof prop.value === "function"
        ? (prop.value as (old: unknown) => unknown)(oldValueDefault)
        : prop.value;
      encodeValue(prop.name, value);
      return Promise.resolve([value, oldValueDefault]);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  setMany(props: readonly Property[]): Promise<unknown[]> {
    try {
      // Checked like a real write, and then dropped.
      for (const prop of props) {
        checkProperty(prop);
        encodeValue(prop.name, prop.value);
      }
      return Promise.resolve(props.map(() => undefined));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  expire(ms: number | null): Promise<boolean> {
    try {
      checkExpiry(ms);
      return Promise.resolve(false);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  ttl(): Promise<number | null> {
    return Promise.resolve(null);
  }

  get(prop: Property): Promise<unknown> {
    try {
      checkProperty(prop);
      throw new PropertyNotFoundError(this.#name, prop.name, {
        extended: prop.type === PropertyType.EXTENDED,
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  delete(prop: Property): Promise<void> {
    try {
      checkProperty(prop);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  getExtProps(): Promise<Record<string, unknown>> {
    return Promise.resolve({});
  }

  flush(): Promise<this> {
    return Promise.resolve(this);
  }
}
