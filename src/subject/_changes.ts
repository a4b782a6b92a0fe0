// The pending changes of a subject's cache: what each property's set() and
// delete() left for store() to write, how a batch is merged under newer
// changes, and the batch store() sends. Plain data and functions, so that
// the Subject and its store ledger share them without importing each other.

import {
  copyValue,
  encodeValue,
  FieldText,
  isJsonScalar,
  type UnsafeIntegers,
} from "../json/codec.ts";
import {
  EncodedProperty,
  PropertyType,
  type PropertyTypeValue,
  SubjectExtProperty,
  SubjectProperty,
} from "../storage/property.ts";
import type { Property } from "../storage/property.ts";
import type { StoreCondition } from "../storage/types.ts";
import { BatchValues } from "./_batch_values.ts";
import { LazyValues } from "./_lazy_values.ts";

export interface CacheSection {
  readonly values: Map<string, unknown>;
  // Names whose cached value storage does not have yet, with what store()
  // must do: one record per property, so a set touches one entry here.
  // NO_CHANGES until the first change (see changesToWrite). A property
  // created by plain sets only, the common case of a batch, is just its
  // Created entry: no record to allocate.
  changes: ReadonlyMap<string, Change | Created>;
  // While true, every name in `values` is a property created by plain sets
  // of scalars since an empty load, and `changes` is NO_CHANGES: the
  // commonest batch keeps no second map, which took 40 % of its sets' time.
  // pendingOf() ends it before anything else reads or changes the section.
  fresh: boolean;
}

/**
 * A property created by plain sets only: the text of its value, or SCALAR
 * when the value is a string, number, boolean or null.
 */
export type Created = string | typeof SCALAR;

/**
 * Stands for the text of a scalar value: store() encodes it, as cheaply as
 * set() could have, and it cannot change meanwhile. Not keeping it spares
 * the garbage collector a string per property for the whole batch.
 */
const SCALAR = 0;

// The changes of every section without any: a loaded subject that is only
// read allocates no map for them.
const NO_CHANGES: ReadonlyMap<string, Change | Created> = new Map();

/**
 * The section's pending changes by name. Call it before reading or changing
 * anything of the section other than by a plain set of a scalar.
 */
export function pendingOf(
  section: CacheSection,
): ReadonlyMap<string, Change | Created> {
  if (section.fresh) {
    section.fresh = false;
    if (section.values.size > 0) {
      const changes = new Map<string, Change | Created>();
      for (const name of section.values.keys()) changes.set(name, SCALAR);
      section.changes = changes;
    }
  }
  return section.changes;
}

/** The section's changes, to add one to. */
function changesToWrite(
  section: CacheSection,
): Map<string, Change | Created> {
  pendingOf(section);
  if (section.changes === NO_CHANGES) section.changes = new Map();
  return section.changes as Map<string, Change | Created>;
}

/**
 * Checks a value to cache and returns what to keep of its encoding: its
 * text, made once here and written by store(), or SCALAR.
 *
 * @throws {InvalidValueError} When the value does not survive JSON.
 */
export function checkedText(
  prop: string,
  value: unknown,
  integers: UnsafeIntegers,
): Created {
  return isJsonScalar(value) ? SCALAR : encodeValue(prop, value, integers);
}

/** The text store() writes for a value checkedText() kept `text` of. */
export function textOf(
  prop: string,
  value: unknown,
  text: Created,
  integers: UnsafeIntegers,
): string {
  return text === SCALAR ? encodeValue(prop, value, integers) : text;
}

const CREATED = 0;
const UPDATED = 1;
const DELETED = 2;

/** What `store()` must do for one property. */
export interface Change {
  /** Whether it inserts, updates or deletes the field. */
  kind: typeof CREATED | typeof UPDATED | typeof DELETED;
  /**
   * What `checkedText()` kept of the value's encoding when `set()` checked
   * it (SCALAR for a delete).
   */
  text: Created;
  /**
   * For a created or updated property whose every set since the load was a
   * function: `store()` writes it only over the text those functions
   * started from.
   */
  chain: Chain | undefined;
}

/** The function sets of one property since the cache loaded. */
export interface Chain {
  /** The field text the first function read; `null` when it was absent. */
  readonly expected: string | null;
  /** The functions, in the order they were set. */
  readonly updates: ((old: unknown) => unknown)[];
}

export type Cache = Record<PropertyTypeValue, CacheSection>;

export function pendingNames(section: CacheSection): Iterable<string> {
  return pendingOf(section).keys();
}

export function hasPending(cache: Cache): boolean {
  return sectionPending(cache[PropertyType.DEFAULT]) ||
    sectionPending(cache[PropertyType.EXTENDED]);
}

// Answered without pendingOf(): a fresh section's every value is a pending
// insert, and asking must not end the cheap path of a batch of plain sets.
function sectionPending(section: CacheSection): boolean {
  return section.fresh ? section.values.size > 0 : section.changes.size > 0;
}

export function isPending(section: CacheSection, prop: string): boolean {
  return pendingOf(section).has(prop);
}

export function endChange(section: CacheSection, prop: string): void {
  if (pendingOf(section).size > 0) changesToWrite(section).delete(prop);
}

/**
 * Adds the pending changes of `older` to `cache`, except for properties that
 * `cache` has newer changes of.
 */
export function mergeUnder(cache: Cache, older: Cache): void {
  for (const type of [PropertyType.DEFAULT, PropertyType.EXTENDED]) {
    const section = cache[type];
    const old = older[type];
    for (const [name, change] of pendingOf(old)) {
      if (isPending(section, name)) continue;
      // A record of its own: the older batch's is not shared with the cache.
      if (typeof change === "object" && change.kind === DELETED) {
        section.values.delete(name);
        changesToWrite(section).set(name, { ...change });
        continue;
      }
      const text = typeof change === "object" ? change.text : change;
      const chain = typeof change === "object" ? change.chain : undefined;
      const present = section.values.has(name);
      section.values.set(name, old.values.get(name));
      changesToWrite(section).set(
        name,
        present || chain !== undefined
          ? { kind: present ? UPDATED : CREATED, text, chain }
          : text,
      );
    }
  }
}

/** Sets a property in a loaded cache section and records the change for store(). */
export function setCached(
  section: CacheSection,
  prop: string,
  value: unknown,
  integers: UnsafeIntegers,
): [unknown, unknown] {
  // Read first, as before any change: a corrupt old value fails here.
  const oldValue = section.values.get(prop);
  if (typeof value !== "function") {
    // Checked now so the error points at this call, not at a later store().
    recordCached(section, prop, value, checkedText(prop, value, integers));
    return [value, oldValue];
  }
  const newValue = value(
    section.values.has(prop) ? copyValue(oldValue) : undefined,
  );
  const text = checkedText(prop, newValue, integers);
  // A function over a value this subject set or deleted itself computes
  // from that value whatever storage holds: only one over the loaded value
  // (or over functions since) is a read-modify-write of storage.
  const pending = pendingOf(section).get(prop);
  const chain = pending === undefined
    ? { expected: storedText(section.values, prop), updates: [] }
    : typeof pending === "object"
    ? pending.chain
    : undefined;
  const change = recordCached(section, prop, newValue, text);
  if (chain !== undefined) {
    chain.updates.push(value as (old: unknown) => unknown);
    if (typeof change !== "object") {
      changesToWrite(section).set(prop, { kind: CREATED, text, chain });
    } else change.chain = chain;
  }
  return [newValue, oldValue];
}

/**
 * Puts a checked value and its encoding in a loaded cache section and
 * records the change for store(). A plain value ends any function chain:
 * the last writer wins, as in Python.
 *
 * @returns The property's change: its record, or its text while it is
 *   created by plain sets only.
 */
export function recordCached(
  section: CacheSection,
  prop: string,
  newValue: unknown,
  text: Created,
): Change | Created {
  if (section.fresh && text === SCALAR) {
    section.values.set(prop, newValue);
    return SCALAR;
  }
  let change = pendingOf(section).get(prop);
  if (typeof change === "object") {
    if (change.kind === DELETED) change.kind = UPDATED;
    change.text = text;
    change.chain = undefined;
  } else {
    change = change === undefined && section.values.has(prop)
      ? { kind: UPDATED, text, chain: undefined }
      : text;
    changesToWrite(section).set(prop, change);
  }
  section.values.set(prop, newValue);
  return change;
}

/**
 * Puts the checked values of one `setMany()` in a loaded cache section and
 * records their changes, as {@linkcode recordCached} does for each. An empty
 * section that takes only scalars keeps them as given, in a
 * {@linkcode BatchValues}.
 *
 * @param cache The cache.
 * @param type Which of its sections.
 * @param names Distinct property names.
 * @param values Their checked values.
 * @param texts What `checkedText()` kept of each value's encoding.
 */
export function recordAllCached(
  cache: Cache,
  type: PropertyTypeValue,
  names: readonly string[],
  values: readonly unknown[],
  texts: readonly Created[],
): void {
  const section = cache[type];
  if (
    section.fresh && section.values.size === 0 &&
    texts.every((text) => text === SCALAR)
  ) {
    cache[type] = {
      values: new BatchValues(names, values),
      changes: NO_CHANGES,
      fresh: true,
    };
    return;
  }
  for (let i = 0; i < names.length; i++) {
    recordCached(section, names[i], values[i], texts[i]);
  }
}

/**
 * The field text a cached value stands for: the text loaded, when the value
 * is still the loaded one, else its encoding (a field holding that text
 * holds that value; other text for it, such as Python's spacing, costs one
 * conflict and a recomputation, never a wrong result).
 */
function storedText(values: Map<string, unknown>, prop: string): string | null {
  if (!values.has(prop)) return null;
  if (values instanceof LazyValues) {
    const loaded = values.loaded(prop);
    if (loaded instanceof FieldText && loaded.utf8) return loaded.text;
  }
  return encodeValue(prop, values.get(prop));
}

/**
 * One update doing what a property's function sets did in the cache, in
 * order, each on a copy of the previous result and checked as set() checks
 * it: what store() computes again when the field changed.
 */
function applyAll(
  prop: string,
  updates: readonly ((old: unknown) => unknown)[],
): (old: unknown) => unknown {
  return (old) => {
    let value = updates[0](old);
    for (let i = 1; i < updates.length; i++) {
      encodeValue(prop, value);
      value = updates[i](copyValue(value));
    }
    return value;
  };
}

export function newSection(values: Map<string, unknown>): CacheSection {
  return { values, changes: NO_CHANGES, fresh: values.size === 0 };
}

export function makeProperty(
  type: PropertyTypeValue,
  name: string,
  value?: unknown,
): Property {
  return type === PropertyType.DEFAULT
    ? new SubjectProperty(name, value)
    : new SubjectExtProperty(name, value);
}

export function emptyCache(): Cache {
  return {
    [PropertyType.DEFAULT]: newSection(new Map()),
    [PropertyType.EXTENDED]: newSection(new Map()),
  };
}

/** Ends every pending change of a batch. */
export function endAll(cache: Cache): void {
  for (const type of [PropertyType.DEFAULT, PropertyType.EXTENDED]) {
    const section = cache[type];
    section.fresh = false;
    section.changes = NO_CHANGES;
  }
}

/** Applies the pending changes of `newer` on top of `cache`. */
export function overlay(cache: Cache, newer: Cache): void {
  for (const type of [PropertyType.DEFAULT, PropertyType.EXTENDED]) {
    for (const name of pendingNames(newer[type])) endChange(cache[type], name);
  }
  mergeUnder(cache, newer);
}

/**
 * Deletes a property from a loaded cache section and records the delete for
 * store(), over whatever change it had: a created one included, since
 * storage may hold the field all the same.
 */
export function recordDeleted(section: CacheSection, prop: string): void {
  const change = pendingOf(section).get(prop);
  section.values.delete(prop);
  if (typeof change !== "object") {
    changesToWrite(section).set(prop, {
      kind: DELETED,
      text: SCALAR,
      chain: undefined,
    });
  } else {
    change.kind = DELETED;
    change.text = SCALAR;
    change.chain = undefined;
  }
}

/** What one `store()` sends for a cache's pending changes. */
export interface Batch {
  /** Properties storage does not hold yet, as far as the cache knows. */
  inserts: Property[];
  /** Properties storage holds, to overwrite. */
  updates: Property[];
  /** Properties to delete. */
  deletes: Property[];
  /** The conditions of the properties set by functions only. */
  conditions: StoreCondition[];
}

/**
 * The batch that writes a cache's pending changes, each value in the text
 * kept when it was set (or encoded now, for a scalar).
 */
export function batchOf(cache: Cache, integers: UnsafeIntegers): Batch {
  const inserts: Property[] = [];
  const updates: Property[] = [];
  const deletes: Property[] = [];
  const conditions: StoreCondition[] = [];
  for (const type of [PropertyType.DEFAULT, PropertyType.EXTENDED]) {
    const section = cache[type];
    const values = section.values;
    if (section.fresh) {
      // forEach, not for-of over entries: no [name, value] array per
      // property (some 60 bytes each, for the collector to sweep up).
      values.forEach((value, name) => {
        inserts.push(
          new EncodedProperty(
            type,
            name,
            value,
            encodeValue(name, value, integers),
          ),
        );
      });
      continue;
    }
    section.changes.forEach((change, name) => {
      if (typeof change !== "object") {
        const value = values.get(name);
        inserts.push(
          new EncodedProperty(
            type,
            name,
            value,
            textOf(name, value, change, integers),
          ),
        );
        return;
      }
      if (change.kind === DELETED) {
        deletes.push(makeProperty(type, name));
        return;
      }
      const value = values.get(name);
      const prop = new EncodedProperty(
        type,
        name,
        value,
        textOf(name, value, change.text, integers),
      );
      (change.kind === CREATED ? inserts : updates).push(prop);
      const chain = change.chain;
      if (chain !== undefined) {
        conditions.push({
          prop,
          expected: chain.expected,
          update: applyAll(name, chain.updates),
        });
      }
    });
  }
  return { inserts, updates, deletes, conditions };
}
