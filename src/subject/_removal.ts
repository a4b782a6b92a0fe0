/**
 * What removing a property needs that reading it does not: a field that
 * does not hold valid JSON reads as absent, marked corrupt, since deleting
 * needs no old value. Used by `Subject.delete()`, `flush()` and
 * `dict({ skipCorrupt })`.
 *
 * @module
 */
import { CorruptValueError } from "../json/errors.ts";
import { setOwn } from "../json/record.ts";
import { PayloadConst } from "./events.ts";

/** What a flush() read from one cache section, a corrupt field as absent. */
export interface Snapshot {
  /** Every property name, in the cache's order. */
  readonly names: string[];
  /** The values of the readable ones. */
  readonly values: Record<string, unknown>;
  /** The names of the fields that do not hold valid JSON. */
  readonly corrupt: string[];
}

/** Reads every value of a cache section, a corrupt field as absent. */
export function takeSnapshot(values: Map<string, unknown>): Snapshot {
  const snapshot: Snapshot = { names: [], values: {}, corrupt: [] };
  for (const name of values.keys()) {
    snapshot.names.push(name);
    const [value, corrupt] = readTolerant(values, name);
    if (corrupt) snapshot.corrupt.push(name);
    else setOwn(snapshot.values, name, value);
  }
  return snapshot;
}

/**
 * Reads a cached value; a field that does not hold valid JSON reads as
 * absent, with `true` beside it. For the calls that remove a field, which
 * need no old value to do their work.
 */
export function readTolerant(
  values: Map<string, unknown>,
  name: string,
): [value: unknown, corrupt: boolean] {
  try {
    return [values.get(name), false];
  } catch (error) {
    if (error instanceof CorruptValueError) return [undefined, true];
    throw error;
  }
}

/** The payload of `subject-property-deleted`. */
export function deletion(
  name: string,
  oldValue: unknown,
  corrupt: boolean,
): Record<string, unknown> {
  if (!corrupt) {
    return {
      [PayloadConst.PROPERTY_NAME]: name,
      [PayloadConst.OLD_VALUE]: oldValue,
    };
  }
  // null, not undefined, so the key survives JSON, as set() reports absence.
  return {
    [PayloadConst.PROPERTY_NAME]: name,
    [PayloadConst.OLD_VALUE]: null,
    [PayloadConst.CORRUPT]: true,
  };
}
