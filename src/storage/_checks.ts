import { checkPropertyName, describeType } from "../json/names.ts";
import {
  decodeValue,
  encodeValue,
  type UnsafeIntegers,
} from "../json/codec.ts";
import { EncodedProperty, type Property, PropertyType } from "./property.ts";
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

/**
 * Checks a property to write and returns its value's field text. A
 * Subject's properties were checked and encoded when they were set, so each
 * value is encoded once on its way to storage.
 *
 * @param prop The property.
 * @param integers Whether a `BigInt` is refused or written as an integer.
 * @throws {TypeError} When the property is malformed.
 * @throws {InvalidValueError} When the value does not survive JSON.
 */
export function propertyText(
  prop: Property,
  integers: UnsafeIntegers = "reject",
): string {
  if (prop instanceof EncodedProperty) return prop.text;
  checkProperty(prop);
  return encodeValue(prop.name, prop.value, integers);
}

/** A store's changes as hash fields, every property and value checked. */
export interface EncodedChanges {
  /** Field, text, field, text, …: the fields to set, in `HSET` order. */
  readonly sets: string[];
  /** The fields to delete. */
  readonly deletes: string[];
  /** The conditions of the store, on fields among `sets`. */
  readonly checks: EncodedCheck[];
}

/** A store's condition, on the field it names in the store's `sets`. */
export interface EncodedCheck {
  /** The field, type letter included. */
  readonly field: string;
  /** The property name, for errors. */
  readonly name: string;
  /** Where the field's text is in `sets`. */
  readonly at: number;
  /** The text the field must hold; `null`: it must be absent. */
  expected: string | null;
  /** Computes the value again from the field's current value. */
  readonly update: (old: unknown) => unknown;
}

/**
 * Checks and encodes a store's inserts and updates as `field, text, …` after
 * `head`: with `["HSET", key]` for a head, the command a store that only
 * sets sends, built in one array.
 *
 * @param changes The changes whose inserts and updates to encode.
 * @param integers Whether a `BigInt` is refused or written as an integer.
 * @param head What comes before the fields.
 * @returns `head`'s items, then each field and its text.
 * @throws {TypeError} When a property is malformed.
 * @throws {InvalidValueError} When a value does not survive JSON.
 */
export function encodeSets(
  changes: StoreChanges,
  integers: UnsafeIntegers = "reject",
  head: readonly string[] = [],
): string[] {
  const inserts = listOf(changes.inserts);
  const updates = listOf(changes.updates);
  // Sized once: a batch of a hundred properties would otherwise grow it
  // five times over, garbage for every store.
  const sets = new Array<string>(
    head.length + 2 * (inserts.length + updates.length),
  );
  let at = 0;
  for (; at < head.length; at++) sets[at] = head[at];
  for (const list of [inserts, updates]) {
    for (let i = 0; i < list.length; i++) {
      const prop = list[i];
      const text = propertyText(prop, integers);
      sets[at++] = fieldOf(prop);
      sets[at++] = text;
    }
  }
  return sets;
}

/** A store's list as an array: any iterable is taken, as by for-of. */
function listOf<T>(list: Iterable<T> | null | undefined): readonly T[] {
  if (list === undefined || list === null) return [];
  return Array.isArray(list) ? list : [...list];
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
  const sets = encodeSets(changes, integers);
  const deletes: string[] = [];
  for (const prop of changes.deletes ?? []) {
    checkProperty(prop);
    deletes.push(fieldOf(prop));
  }
  if (sets.length === 0 && deletes.length === 0) return undefined;
  const conditions = changes.conditions ?? [];
  return {
    sets,
    deletes,
    checks: conditions.length === 0 ? [] : encodeChecks(conditions, sets),
  };
}

function encodeChecks(
  conditions: NonNullable<StoreChanges["conditions"]>,
  sets: readonly string[],
): EncodedCheck[] {
  const textAt = new Map<string, number>();
  for (let i = 0; i < sets.length; i += 2) textAt.set(sets[i], i + 1);
  return conditions.map(({ prop, expected, update }) => {
    checkProperty(prop);
    const field = fieldOf(prop);
    const at = textAt.get(field);
    if (at === undefined) {
      throw new TypeError(
        `A store() condition names property ${
          JSON.stringify(prop.name)
        }, which the store does not write: a condition must name one of its inserts or updates.`,
      );
    }
    if (typeof expected !== "string" && expected !== null) {
      throw new TypeError(
        `The store() condition on property ${
          JSON.stringify(prop.name)
        } must expect a field text or null (absent), got ${
          describeType(expected)
        }.`,
      );
    }
    if (typeof update !== "function") {
      throw new TypeError(
        `The store() condition on property ${
          JSON.stringify(prop.name)
        } needs an update function.`,
      );
    }
    return { field, name: prop.name, at, expected, update };
  });
}

/**
 * Computes a checked value again from what its field holds now, in `sets`,
 * and makes that the text the next attempt expects.
 *
 * @param key The key (or memory-storage subject key), for errors.
 * @param check The condition that failed.
 * @param sets The store's fields and texts; the check's text is replaced.
 * @param current What the field holds now; `null` when absent.
 * @param integers Whether integers beyond the safe range are refused or read
 * and written as `BigInt`.
 * @throws {CorruptValueError} When the field's text is not valid JSON.
 * @throws {InvalidValueError} When the new value does not survive JSON.
 */
export function recompute(
  key: string,
  check: EncodedCheck,
  sets: string[],
  current: string | null,
  integers: UnsafeIntegers,
): void {
  const old = current === null
    ? undefined
    : decodeValue(key, check.field, current, integers);
  sets[check.at] = encodeValue(check.name, check.update(old), integers);
  check.expected = current;
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
