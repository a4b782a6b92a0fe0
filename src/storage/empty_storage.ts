import { encodeValue } from "../json/codec.ts";
import { checkSubjectName } from "../json/names.ts";
import { checkProperty, encodeChanges } from "./_checks.ts";
import { PropertyNotFoundError } from "./errors.ts";
import { type Property, PropertyType } from "./property.ts";
import type {
  StorageContext,
  StorageFactory,
  StoreChanges,
  SubjectStorage,
} from "./types.ts";

/**
 * Creates a storage factory that keeps nothing: KRules' default when no
 * storage is configured, so that subjects live only in their cache until
 * `store()` drops it.
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
  return (name: string, _context?: StorageContext): SubjectStorage => {
    checkSubjectName(name);
    return new EmptySubjectStorage();
  };
}

class EmptySubjectStorage implements SubjectStorage {
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

  get(prop: Property): Promise<unknown> {
    try {
      checkProperty(prop);
      throw new PropertyNotFoundError(
        prop.name,
        prop.type === PropertyType.EXTENDED,
      );
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
