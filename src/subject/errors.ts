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
   * The first 1000; {@linkcode droppedCount} counts them all.
   */
  readonly dropped: readonly string[];
  /** How many subjects were dropped holding changes never stored. */
  readonly droppedCount: number;

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
    const droppedCount = Math.max(options?.droppedCount ?? 0, dropped.length);
    const parts: string[] = [];
    if (subjects.length > 0) {
      parts.push(
        `${count(subjects.length)} ${
          subjects.length === 1 ? "holds" : "hold"
        } changes that were never stored: ${list(subjects, subjects.length)}.`,
      );
    }
    if (droppedCount > 0) {
      parts.push(
        `${
          count(droppedCount)
        } held changes that were never stored when the program dropped ${
          droppedCount === 1 ? "it" : "them"
        }, so they are lost: ${list(dropped, droppedCount)}.`,
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
    this.droppedCount = droppedCount;
  }
}

/** Options of the {@linkcode UnstoredChangesError} constructor. */
export interface UnstoredChangesErrorOptions extends ErrorOptions {
  /** The names of subjects dropped while they held changes never stored. */
  dropped?: readonly string[];
  /**
   * How many subjects were dropped so, when `dropped` lists only some.
   *
   * @default {dropped.length}
   */
  droppedCount?: number;
  /** What to do, ending the message. */
  advice?: string;
}

function count(n: number): string {
  return n === 1 ? "Subject" : `${n} subjects`;
}

function list(names: readonly string[], total: number): string {
  const shown = names.slice(0, LISTED).map((name) => JSON.stringify(name));
  if (total > shown.length) shown.push(`and ${total - shown.length} more`);
  return shown.join(", ");
}
