import { UnstoredChangesError } from "./errors.ts";
import type { ChangeState, ChangeTracker } from "./subject.ts";

// Names of dropped subjects kept for the error; past this, only counted, so
// a long-lived worker that keeps dropping subjects does not grow without end.
const MAX_DROPPED_NAMES = 1000;

interface Entry {
  readonly subject: WeakRef<WeakKey>;
  readonly name: string;
}

/**
 * The subjects of one `KRules` that hold changes never stored, or have a
 * `store()` in flight. A subject that only holds changes is held weakly: a
 * program that drops it (after a failed `store()`, say) does not leak it
 * here, and its name is noted instead, since its changes are lost. A
 * subject with a store in flight is held until the store settles, as the
 * store's own promise holds it anyway. A subject that settles leaves at once.
 */
export class UnstoredSubjects implements ChangeTracker {
  // Weak keys, so that looking a subject up does not keep it alive.
  readonly #entries = new WeakMap<WeakKey, Entry>();
  // Every entry, to list them; an entry holds its subject weakly.
  readonly #all = new Set<Entry>();
  readonly #storing = new Set<WeakKey>();
  readonly #dropped: string[] = [];
  #droppedCount = 0;
  readonly #registry = new FinalizationRegistry<Entry>((entry) => {
    this.#all.delete(entry);
    this.#droppedCount++;
    if (this.#dropped.length < MAX_DROPPED_NAMES) {
      this.#dropped.push(entry.name);
    }
  });
  // Resolved, and replaced, whenever a store settles.
  #settled = Promise.withResolvers<void>();

  /** Notes a subject's new state; see {@linkcode ChangeTracker.update}. */
  update(subject: WeakKey, name: string, state: ChangeState): void {
    if (state === "storing") this.#storing.add(subject);
    else if (this.#storing.delete(subject)) {
      this.#settled.resolve();
      this.#settled = Promise.withResolvers<void>();
    }
    const entry = this.#entries.get(subject);
    if (state !== "clean") {
      if (entry !== undefined) return;
      const added: Entry = { subject: new WeakRef(subject), name };
      this.#entries.set(subject, added);
      this.#all.add(added);
      this.#registry.register(subject, added, added);
    } else if (entry !== undefined) {
      this.#entries.delete(subject);
      this.#all.delete(entry);
      this.#registry.unregister(entry);
    }
  }

  /** Waits until no subject has a `store()` in flight. */
  async storesSettled(): Promise<void> {
    while (this.#storing.size > 0) await this.#settled.promise;
  }

  /**
   * The error naming the subjects that hold changes never stored, or
   * `undefined` when there are none.
   *
   * @param advice What to do, ending the message.
   * @returns The error, or `undefined`.
   */
  error(advice: string): UnstoredChangesError | undefined {
    const names: string[] = [];
    for (const entry of this.#all) {
      if (entry.subject.deref() !== undefined) names.push(entry.name);
    }
    if (names.length === 0 && this.#droppedCount === 0) return undefined;
    return new UnstoredChangesError(names, {
      dropped: [...this.#dropped],
      droppedCount: this.#droppedCount,
      advice,
    });
  }
}
