import { UnstoredChangesError } from "./errors.ts";
import type { ChangeState, ChangeTracker } from "./_cache_keeper.ts";

// Names of dropped subjects kept for the error; past this, only counted, so
// a long-lived worker that keeps dropping subjects does not grow without end.
const MAX_DROPPED_NAMES = 1000;
// How many subjects may be held strongly before the oldest are held weakly.
const MIN_SWEEP = 1024;

interface Entry {
  readonly subject: WeakRef<WeakKey>;
  readonly name: string;
}

/**
 * The subjects of one `KRules` that hold changes never stored, or have a
 * `store()` in flight.
 *
 * Most subjects settle soon (a few cached sets, then `store()`), so a new
 * one is held strongly, in a plain map, which costs little. A program may
 * also drop a subject that holds changes (after a failed `store()`, say);
 * so that it cannot leak here, the subjects still held when the map grows
 * past a bound (at least {@linkcode MIN_SWEEP}, and as many as are held
 * weakly, which keeps the cost per subject constant) are moved to weak
 * references. A subject the program dropped is then collected, and counted
 * (and named, up to {@linkcode MAX_DROPPED_NAMES}) as dropped, its changes
 * lost. A subject with a store in flight stays held strongly until it
 * settles, as the store's own promise holds it anyway.
 */
export class UnstoredSubjects implements ChangeTracker {
  readonly #strong = new Map<WeakKey, string>();
  readonly #weak = new Set<Entry>();
  // Weak keys, so that finding a subject's entry does not keep it alive.
  readonly #entries = new WeakMap<WeakKey, Entry>();
  readonly #storing = new Set<WeakKey>();
  readonly #dropped: string[] = [];
  #droppedCount = 0;
  // Resolved when no store is in flight, for whoever waits.
  #settled: PromiseWithResolvers<void> | undefined;

  /** Notes a subject's new state; see {@linkcode ChangeTracker.update}. */
  update(subject: WeakKey, name: string, state: ChangeState): void {
    if (state === "storing") this.#storing.add(subject);
    else if (this.#storing.delete(subject) && this.#storing.size === 0) {
      this.#settled?.resolve();
      this.#settled = undefined;
    }
    if (state !== "clean") {
      if (this.#strong.has(subject) || this.#entries.has(subject)) return;
      this.#strong.set(subject, name);
      if (this.#strong.size > Math.max(MIN_SWEEP, this.#weak.size)) {
        this.#sweep();
      }
    } else if (!this.#strong.delete(subject)) {
      const entry = this.#entries.get(subject);
      if (entry === undefined) return;
      this.#entries.delete(subject);
      this.#weak.delete(entry);
    }
  }

  /** Waits until no subject has a `store()` in flight. */
  async storesSettled(): Promise<void> {
    while (this.#storing.size > 0) {
      this.#settled ??= Promise.withResolvers();
      await this.#settled.promise;
    }
  }

  /**
   * The error naming the subjects that hold changes never stored, or
   * `undefined` when there are none.
   *
   * @param advice What to do, ending the message.
   * @returns The error, or `undefined`.
   */
  error(advice: string): UnstoredChangesError | undefined {
    this.#sweep();
    const names = [...this.#strong.values()];
    for (const entry of this.#weak) names.push(entry.name);
    if (names.length === 0 && this.#droppedCount === 0) return undefined;
    return new UnstoredChangesError(names, {
      dropped: [...this.#dropped],
      droppedCount: this.#droppedCount,
      advice,
    });
  }

  /**
   * Counts the weakly held subjects that were collected as dropped, and
   * moves the strongly held ones without a store in flight to weak holding.
   */
  #sweep(): void {
    for (const entry of this.#weak) {
      if (entry.subject.deref() !== undefined) continue;
      this.#weak.delete(entry);
      this.#droppedCount++;
      if (this.#dropped.length < MAX_DROPPED_NAMES) {
        this.#dropped.push(entry.name);
      }
    }
    for (const [subject, name] of this.#strong) {
      if (this.#storing.has(subject)) continue;
      const entry: Entry = { subject: new WeakRef(subject), name };
      this.#weak.add(entry);
      this.#entries.set(subject, entry);
      this.#strong.delete(subject);
    }
  }
}
