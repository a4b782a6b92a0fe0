/**
 * The errors of the JSON-value rules: a value that cannot be stored, and
 * stored text that cannot be read.
 *
 * @module
 */

/**
 * A value cannot be stored because it would not read back unchanged from its
 * JSON text. Nothing was written.
 */
export class InvalidValueError extends Error {
  /** The name of the property the value was meant for. */
  readonly property: string;
  /** Where inside the value the problem is, e.g. `value.items[2]`. */
  readonly path: string;

  /**
   * Creates the error for one rejected value.
   *
   * @param property The property the value was meant for.
   * @param path Where inside the value the problem is, starting at `value`.
   * @param reason Why that part does not survive JSON, and what to store instead.
   */
  constructor(property: string, path: string, reason: string) {
    super(
      `Cannot store property ${JSON.stringify(property)}: ${path} ${reason}`,
    );
    this.name = "InvalidValueError";
    this.property = property;
    this.path = path;
  }
}

/**
 * A stored field does not hold valid JSON text in UTF-8, so its value cannot
 * be read. The data was written by something other than this module or
 * KRules (a Latin-1 string from another tool, a hand-edited value, Python's
 * `NaN`).
 */
export class CorruptValueError extends Error {
  /** The Redis key (or memory-storage subject key) holding the field. */
  readonly key: string;
  /** The hash field, including its `p`/`e` prefix. */
  readonly field: string;
  /** The property the field holds: the field without its prefix. */
  readonly property: string;

  /**
   * Creates the error for one unreadable field.
   *
   * @param key The key holding the field.
   * @param field The field whose bytes are not valid JSON in UTF-8.
   * @param options Standard error options; the `cause` is the parse error, if any.
   */
  constructor(key: string, field: string, options?: ErrorOptions) {
    const property = field.slice(1);
    super(
      `${field.startsWith("e") ? "Extended property" : "Property"} ${
        JSON.stringify(property)
      } (field ${JSON.stringify(field)} of key ${
        JSON.stringify(key)
      }) does not hold valid JSON text in UTF-8, so it cannot be read. Inspect it with redis-cli HGET, then fix it, or remove it with the subject's delete() or flush().`,
      options,
    );
    this.name = "CorruptValueError";
    this.key = key;
    this.field = field;
    this.property = property;
  }
}
