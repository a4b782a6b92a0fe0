/**
 * The errors of the subject layer.
 *
 * @module
 */

// Names past this many are counted, not listed, so that the message of a
// worker with thousands of forgotten subjects stays readable.
const LISTED = 10;

/**
 * Subjects hold changes that were never stored: cached `set()`s or
 * `delete()`s whose `store()` was not called, or failed. `KRules.close()`
 * and `assertAllStored()` (from `./testing`) reject with it, and so does
 * `Subject.expire()`, which can only expire what is stored.
 *
 * @example Shutting down
 * ```ts
 * import { createMemoryStorage, KRules, UnstoredChangesError } from "@x/redis-subjects";
 *
 * const krules = new KRules({ storage: createMemoryStorage() });
 * await krules.subject("user-1").set("email", "a@b.c"); // no store()
 * try {
 *   await krules.close();
 * } catch (error) {
 *   if (!(error instanceof UnstoredChangesError)) throw error;
 *   console.log(error.subjects); // ["user-1"]
 * }
 * ```
 */
export class UnstoredChangesError extends Error {
  /** The names of the subjects that still hold changes never stored. */
  readonly subjects: readonly string[];
  /**
   * The names of subjects that held changes never stored when the program
   * dropped them (they were garbage-collected): those changes are lost.
   */
  readonly dropped: readonly string[];

  /**
   * Creates the error for the subjects that hold changes never stored.
   *
   * @param subjects The names of those subjects.
   * @param options `dropped`: the names of those the program dropped;
   *   `advice`: what to do, ending the message.
   */
  constructor(
    subjects: readonly string[],
    options?: UnstoredChangesErrorOptions,
  ) {
    const dropped = options?.dropped ?? [];
    const parts: string[] = [];
    if (subjects.length > 0) {
      parts.push(
        `${count(subjects.length)} ${
          subjects.length === 1 ? "holds" : "hold"
        } changes that were never stored: ${list(subjects)}.`,
      );
    }
    if (dropped.length > 0) {
      parts.push(
        `${
          count(dropped.length)
        } held changes that were never stored when the program dropped ${
          dropped.length === 1 ? "it" : "them"
        }, so they are lost: ${list(dropped)}.`,
      );
    }
    parts.push(
      options?.advice ??
        "Call store() on each subject after its last set() or delete().",
    );
    super(parts.join(" "), options);
    this.name = "UnstoredChangesError";
    this.subjects = subjects;
    this.dropped = dropped;
  }
}

/** Options of the {@linkcode UnstoredChangesError} constructor. */
export interface UnstoredChangesErrorOptions extends ErrorOptions {
  /** The names of subjects dropped while they held changes never stored. */
  dropped?: readonly string[];
  /** What to do, ending the message. */
  advice?: string;
}

function count(n: number): string {
  return n === 1 ? "Subject" : `${n} subjects`;
}

function list(names: readonly string[]): string {
  const shown = names.slice(0, LISTED).map((name) => JSON.stringify(name));
  if (names.length > LISTED) shown.push(`and ${names.length - LISTED} more`);
  return shown.join(", ");
}
