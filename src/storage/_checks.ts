import { checkPropertyName, describeType } from "../json/names.ts";
import { encodeValue, type UnsafeIntegers } from "../json/codec.ts";
import { type Property, PropertyType } from "./property.ts";
import type { StoreChanges } from "./types.ts";

/** Rejects a property whose name or type cannot form a hash field. */
export function checkProperty(prop: Property): void {
  if (typeof prop !== "object" || prop === null) {
    throw new TypeError(
      `A property must be an object with name and type, got ${
        describeType(prop)
      }. Use new SubjectProperty(name, value).`,
    );
  }
  checkPropertyName(prop.name);
  if (
    prop.type !== PropertyType.DEFAULT && prop.type !== PropertyType.EXTENDED
  ) {
    throw new TypeError(
      `Property ${JSON.stringify(prop.name)} has type ${
        JSON.stringify(prop.type)
      }; it must be "p" (default) or "e" (extended).`,
    );
  }
}

/** The hash field of a property: its type letter followed by its name. */
export function fieldOf(prop: Property): string {
  return prop.type + prop.name;
}

/** A store's changes as hash fields, every property and value checked. */
export interface EncodedChanges {
  /** Field, text, field, text, …: the fields to set, in `HSET` order. */
  readonly sets: string[];
  /** The fields to delete. */
  readonly deletes: string[];
}

/**
 * Checks and encodes a store's changes before anything is written, so that
 * one bad property or value means nothing is written, on every storage.
 *
 * @param changes The changes to check and encode.
 * @param integers Whether a `BigInt` is refused or written as an integer.
 * @returns The encoded changes, or `undefined` when there is nothing to change.
 * @throws {TypeError} When a property is malformed.
 * @throws {InvalidValueError} When a value does not survive JSON.
 */
export function encodeChanges(
  changes: StoreChanges,
  integers: UnsafeIntegers = "reject",
): EncodedChanges | undefined {
  const sets: string[] = [];
  const deletes: string[] = [];
  for (const list of [changes.inserts, changes.updates]) {
    for (const prop of list ?? []) {
      checkProperty(prop);
      sets.push(fieldOf(prop), encodeValue(prop.name, prop.value, integers));
    }
  }
  for (const prop of changes.deletes ?? []) {
    checkProperty(prop);
    deletes.push(fieldOf(prop));
  }
  if (sets.length === 0 && deletes.length === 0) return undefined;
  return { sets, deletes };
}

/** Rejects an expiry that is neither a positive whole number of milliseconds nor `null`. */
export function checkExpiry(ms: unknown): asserts ms is number | null {
  if (ms === null) return;
  if (typeof ms !== "number" || !Number.isSafeInteger(ms) || ms < 1) {
    throw new RangeError(
      `An expiry must be a positive whole number of milliseconds, or null to clear it; got ${
        typeof ms === "number" ? ms : describeType(ms)
      }.`,
    );
  }
}
