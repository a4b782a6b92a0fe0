/**
 * The rules for subject and property names, shared by the storages (which
 * turn names into keys and fields) and the Subject (which checks them before
 * it touches its cache).
 *
 * @module
 */

/**
 * Rejects a subject name that cannot name a key.
 *
 * Names must be well-formed Unicode because keys travel as UTF-8: a lone
 * surrogate would be replaced on the way and name a different key.
 *
 * @param name The name to check.
 * @throws {TypeError} When it is not a non-empty, well-formed string.
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

/**
 * Rejects a property name that cannot form a hash field. Any well-formed
 * string works, the empty one included, as in the Python storage.
 *
 * @param name The name to check.
 * @throws {TypeError} When it is not a well-formed string.
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

/**
 * How an error message names the type of a value it rejects.
 *
 * @param value The rejected value.
 * @returns `"null"` or the value's `typeof`.
 */
export function describeType(value: unknown): string {
  return value === null ? "null" : typeof value;
}
