/**
 * The storage layer's errors, and the one question about any failed write
 * the layers above ask: did it certainly not run?
 *
 * @module
 */
// The Subject may not import the client layer, so the storage passes on the
// client's answer rather than a second definition of it.
export { notExecuted } from "../client/errors.ts";

/**
 * A property that was read or deleted does not exist on the subject.
 *
 * @example Fall back when a property is missing
 * ```ts
 * import { createMemoryStorage, PropertyNotFoundError } from "@x/redis-subjects";
 * import { SubjectProperty } from "@x/redis-subjects/storage";
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
  /** The name of the subject it was looked up on. */
  readonly subject: string;

  /**
   * Creates the error for one missing property.
   *
   * @param subject The subject it was looked up on.
   * @param property The name of the missing property.
   * @param options Whether it is extended, whether a delete (rather than a
   *   read) looked for it, and standard error options.
   */
  constructor(
    subject: string,
    property: string,
    options?: PropertyNotFoundErrorOptions,
  ) {
    const what = `${options?.extended ? "extended property" : "property"} ${
      JSON.stringify(property)
    } of subject ${JSON.stringify(subject)}`;
    super(
      options?.deleting
        ? `Cannot delete ${what}: it does not exist. Check the name; has${
          options?.extended ? "Ext" : ""
        }() tells whether it exists.`
        : `The ${what} does not exist. Check the name, or pass a default to get${
          options?.extended ? "Ext" : ""
        }().`,
      options,
    );
    this.name = "PropertyNotFoundError";
    this.property = property;
    this.subject = subject;
  }
}

/** Options of the {@linkcode PropertyNotFoundError} constructor. */
export interface PropertyNotFoundErrorOptions extends ErrorOptions {
  /** Whether it was looked up among the extended properties. */
  extended?: boolean;
  /** Whether a delete looked for it, rather than a read. */
  deleting?: boolean;
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
