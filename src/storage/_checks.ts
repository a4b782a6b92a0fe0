import { type Property, PropertyType } from "./property.ts";

/**
 * Rejects a subject name that cannot name a key.
 *
 * Names must be well-formed Unicode because keys travel as UTF-8: a lone
 * surrogate would be replaced on the way and name a different key.
 */
export function checkSubjectName(name: unknown): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(
      `A subject name must be a string, got ${describeType(name)}.`,
    );
  }
  if (name === "") {
    throw new TypeError(
      "A subject name must not be empty: it would name the key of every unnamed subject.",
    );
  }
  if (!name.isWellFormed()) {
    throw new TypeError(
      `Subject name ${
        JSON.stringify(name)
      } contains a lone surrogate, which UTF-8 cannot carry. Use well-formed Unicode.`,
    );
  }
}

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

/**
 * Rejects a property name that cannot form a hash field. Any well-formed
 * string works, the empty one included, as in the Python storage.
 */
export function checkPropertyName(name: unknown): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(
      `A property name must be a string, got ${describeType(name)}.`,
    );
  }
  if (!name.isWellFormed()) {
    throw new TypeError(
      `Property name ${
        JSON.stringify(name)
      } contains a lone surrogate, which UTF-8 cannot carry. Use well-formed Unicode.`,
    );
  }
}

/** The hash field of a property: its type letter followed by its name. */
export function fieldOf(prop: Property): string {
  return prop.type + prop.name;
}

/**
 * Sets an own enumerable property, so that a property named `__proto__`
 * is data like any other instead of replacing the record's prototype.
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

function describeType(value: unknown): string {
  return value === null ? "null" : typeof value;
}
