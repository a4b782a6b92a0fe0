/**
 * A property that was read or deleted does not exist on the subject.
 *
 * @example Fall back when a property is missing
 * ```ts
 * import { createMemoryStorage, PropertyNotFoundError, SubjectProperty } from "@x/redis-subjects";
 *
 * const storage = createMemoryStorage()("user-1");
 * try {
 *   await storage.get(new SubjectProperty("email"));
 * } catch (error) {
 *   if (!(error instanceof PropertyNotFoundError)) throw error;
 *   console.log(`no ${error.property} yet`);
 * }
 * ```
 */
export class PropertyNotFoundError extends Error {
  /** The name of the missing property, without its `p`/`e` field prefix. */
  readonly property: string;

  /**
   * Creates the error for one missing property.
   *
   * @param property The name of the missing property.
   * @param extended Whether it was looked up among the extended properties.
   */
  constructor(property: string, extended = false) {
    super(
      `${extended ? "Extended property" : "Property"} ${
        JSON.stringify(property)
      } does not exist. Check the name, or pass a default to get().`,
    );
    this.name = "PropertyNotFoundError";
    this.property = property;
  }
}

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

/**
 * A compare-and-set update lost every race: another writer changed the
 * property between each read and write, `attempts` times in a row. Nothing
 * was written by the failed call.
 */
export class ConflictError extends Error {
  /** The Redis key holding the property. */
  readonly key: string;
  /** The name of the contended property. */
  readonly property: string;
  /** How many compare-and-set attempts were made. */
  readonly attempts: number;

  /**
   * Creates the error for one exhausted update.
   *
   * @param key The key holding the property.
   * @param property The contended property.
   * @param attempts How many attempts were made.
   */
  constructor(key: string, property: string, attempts: number) {
    super(
      `Could not update property ${JSON.stringify(property)} of ${
        JSON.stringify(key)
      }: another writer changed it on each of ${attempts} attempts. Retry later, or raise maxCasAttempts.`,
    );
    this.name = "ConflictError";
    this.key = key;
    this.property = property;
    this.attempts = attempts;
  }
}
