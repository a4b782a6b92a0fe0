/**
 * Building records of JSON values keyed by property names, which may be any
 * string, `__proto__` included.
 *
 * @module
 */

/**
 * Sets an own enumerable property, so that a property named `__proto__`
 * is data like any other instead of replacing the record's prototype.
 *
 * @param record The record to change.
 * @param key The property name.
 * @param value The value.
 */
export function setOwn(
  record: Record<string, unknown>,
  key: string,
  value: unknown,
): void {
  if (key !== "__proto__") {
    // Plain assignment keeps the record a fast object; defineProperty on
    // every key would turn it into a slow dictionary.
    record[key] = value;
    return;
  }
  Object.defineProperty(record, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * Copies a map of values into a record, keeping every name as data.
 *
 * @param values The values by name.
 * @returns A record with the same entries.
 */
export function toRecord(
  values: Iterable<[string, unknown]>,
): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [name, value] of values) setOwn(record, name, value);
  return record;
}
