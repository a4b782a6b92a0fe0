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
 * A stored field does not hold valid JSON, so its value cannot be read. The
 * data was written by something other than this module or KRules.
 */
export class CorruptValueError extends Error {
  /** The Redis key (or memory-storage subject key) holding the field. */
  readonly key: string;
  /** The hash field, including its `p`/`e` prefix. */
  readonly field: string;

  /**
   * Creates the error for one unreadable field.
   *
   * @param key The key holding the field.
   * @param field The field whose text is not valid JSON.
   * @param options Standard error options; the `cause` is the parse error.
   */
  constructor(key: string, field: string, options?: ErrorOptions) {
    super(
      `Field ${JSON.stringify(field)} of key ${
        JSON.stringify(key)
      } does not hold valid JSON. Inspect it with redis-cli HGET, then fix or delete the field.`,
      options,
    );
    this.name = "CorruptValueError";
    this.key = key;
    this.field = field;
  }
}
