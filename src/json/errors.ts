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
 * Why a stored field cannot be read, as {@linkcode CorruptValueError.reason}
 * says:
 *
 * - `"invalid-json"`: the bytes are not UTF-8, or the text is not JSON
 *   (Python's `NaN`, a hand-edited value).
 * - `"unsafe-integer"`: the text holds an integer beyond ±(2^53 − 1) that a
 *   JavaScript number would not write back with the same digits, such as
 *   `12345678901234567890` from Python; reading it as a number would round it.
 * - `"overflow"`: the text holds a number too large for a double, such as
 *   `1e400`, which would read as `Infinity`.
 */
export type CorruptValueReason = "invalid-json" | "unsafe-integer" | "overflow";

/** Options of {@linkcode CorruptValueError}. */
export interface CorruptValueErrorOptions extends ErrorOptions {
  /**
   * Why the field cannot be read.
   *
   * @default {"invalid-json"}
   */
  reason?: CorruptValueReason;
}

/**
 * A stored field cannot be read as it is: it is not valid JSON text in
 * UTF-8, or it holds a number JavaScript cannot read without changing it
 * ({@linkcode CorruptValueError.reason} says which). The data was written by
 * something other than this module or KRules (a Latin-1 string from another
 * tool, a hand-edited value, Python's `NaN`, a Python `int` beyond 2^53).
 */
export class CorruptValueError extends Error {
  /** The Redis key (or memory-storage subject key) holding the field. */
  readonly key: string;
  /** The hash field, including its `p`/`e` prefix. */
  readonly field: string;
  /** The property the field holds: the field without its prefix. */
  readonly property: string;
  /** Why the field cannot be read. */
  readonly reason: CorruptValueReason;

  /**
   * Creates the error for one unreadable field.
   *
   * @param key The key holding the field.
   * @param field The field that cannot be read.
   * @param options Why (`reason`), and the parse error as `cause`, if any.
   */
  constructor(key: string, field: string, options?: CorruptValueErrorOptions) {
    const property = field.slice(1);
    const reason = options?.reason ?? "invalid-json";
    super(
      `${field.startsWith("e") ? "Extended property" : "Property"} ${
        JSON.stringify(property)
      } (field ${JSON.stringify(field)} of key ${JSON.stringify(key)}) ${
        EXPLANATIONS[reason]
      }`,
      options,
    );
    this.name = "CorruptValueError";
    this.key = key;
    this.field = field;
    this.property = property;
    this.reason = reason;
  }
}

const EXPLANATIONS: Record<CorruptValueReason, string> = {
  "invalid-json":
    "does not hold valid JSON text in UTF-8, so it cannot be read. Inspect it with redis-cli HGET, then fix it, or remove it with the subject's delete() or flush().",
  "unsafe-integer":
    'holds an integer beyond Number.MAX_SAFE_INTEGER that a JavaScript number would round; it is not read, so that it is never changed. Open the storage with unsafeIntegers: "bigint" to read such integers exactly, as BigInt.',
  overflow:
    "holds a number too large for a JavaScript number (it would read as Infinity); it is not read, so that it is never changed. Inspect it with redis-cli HGET, then fix or delete the field.",
};
