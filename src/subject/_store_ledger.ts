// The ledger of a subject's stores: the batches whose store() is in flight,
// what a newer one wrote while an older one was in flight, and the failed
// batch waiting to be merged back under the changes made since. It decides
// what of a failed batch comes back; the Subject decides when to load.

import { PropertyType, type PropertyTypeValue } from "../storage/property.ts";
import {
  type Cache,
  endChange,
  hasPending,
  mergeUnder,
  pendingNames,
} from "./_changes.ts";

/** The stores of one subject, in flight or failed and waiting. */
export class StoreLedger {
  // Batches whose store() is in flight; a direct write of a property ends
  // its change in them too, so a failed batch cannot bring it back.
  // By the number of their store(), which grows with every store().
  #storing: Map<Cache, number> | undefined;
  #stores = 0;
  // Properties (type letter + name) written by a store() that finished while
  // an older one was in flight, with its number: if the older one fails, it
  // must not bring back what the newer one wrote. Cleared when none is in
  // flight.
  #newerWrites: Map<string, number> | undefined;
  // A failed batch waiting for the next load to be merged under it.
  #unstored: Cache | null = null;

  /** Whether a store() is in flight. */
  get storing(): boolean {
    return this.#storing !== undefined && this.#storing.size > 0;
  }

  /** The batches whose store() is in flight. */
  batches(): Iterable<Cache> {
    return this.#storing?.keys() ?? [];
  }

  /** Whether a failed batch waits for a load. */
  waiting(): boolean {
    return this.#unstored !== null;
  }

  /** Whether a failed batch waits with changes still to store. */
  holdsUnstored(): boolean {
    return this.#unstored !== null && hasPending(this.#unstored);
  }

  /**
   * Notes a batch whose store() is about to be sent.
   *
   * @returns Its number, larger than that of every store() before it.
   */
  begin(batch: Cache): number {
    const number = ++this.#stores;
    (this.#storing ??= new Map()).set(batch, number);
    return number;
  }

  /** Notes that a batch's store() settled, whether it wrote or failed. */
  end(batch: Cache): void {
    const storing = this.#storing;
    if (storing === undefined) return;
    storing.delete(batch);
    if (storing.size === 0) {
      this.#storing = undefined;
      this.#newerWrites = undefined;
    }
  }

  /**
   * Ends a property's change in the batches in flight and the failed one:
   * storage holds a newer write of it, which no batch may undo.
   */
  endPending(type: PropertyTypeValue, prop: string): void {
    for (const batch of this.#storing?.keys() ?? []) {
      endChange(batch[type], prop);
    }
    if (this.#unstored !== null) endChange(this.#unstored[type], prop);
  }

  /**
   * Remembers what a store() wrote (or may have) while an older one is still
   * in flight, so that the older one cannot bring it back if it fails.
   */
  written(batch: Cache, number: number): void {
    let older = false;
    for (const other of this.#storing?.values() ?? []) older ||= other < number;
    if (!older) return;
    for (const type of [PropertyType.DEFAULT, PropertyType.EXTENDED]) {
      for (const name of pendingNames(batch[type])) {
        const key = type + name;
        const newerWrites = this.#newerWrites ??= new Map();
        newerWrites.set(
          key,
          Math.max(newerWrites.get(key) ?? 0, number),
        );
      }
    }
  }

  /**
   * Takes back the changes of a batch whose store() failed without running,
   * minus those a newer store() wrote or is writing: under the changes of
   * `cache`, or else waiting for the next load.
   *
   * @param failed The batch that failed.
   * @param number Its number, from {@linkcode begin}.
   * @param cache The subject's loaded cache, or `null`.
   * @param idle Whether no load is in flight and none is owed: the failed
   *   batch may then become the cache, if nothing newer was written.
   * @returns The cache the subject holds from now on.
   */
  restore(
    failed: Cache,
    number: number,
    cache: Cache | null,
    idle: boolean,
  ): Cache | null {
    let newer = false;
    for (const [batch, other] of this.#storing ?? []) {
      if (other <= number) continue;
      newer = true;
      for (const type of [PropertyType.DEFAULT, PropertyType.EXTENDED]) {
        for (const name of pendingNames(batch[type])) {
          endChange(failed[type], name);
        }
      }
    }
    for (const [key, other] of this.#newerWrites ?? []) {
      if (other <= number) continue;
      newer = true;
      endChange(failed[key[0] as PropertyTypeValue], key.slice(1));
    }
    if (cache !== null) {
      mergeUnder(cache, failed);
      return cache;
    }
    // A failed batch still waiting holds only changes newer than this one
    // or apart from it, so this one goes under it.
    if (this.#unstored !== null) mergeUnder(this.#unstored, failed);
    else this.#unstored = failed;
    // As the cache only when nothing newer has been written: its values
    // would otherwise be older than storage's.
    if (!idle || newer) return null;
    const restored = this.#unstored;
    this.#unstored = null;
    return restored;
  }

  /**
   * Keeps the pending changes of a cache the subject drops, on top of the
   * failed batch already waiting, until the next load.
   */
  park(cache: Cache): void {
    if (this.#unstored !== null) mergeUnder(cache, this.#unstored);
    this.#unstored = hasPending(cache) ? cache : null;
  }

  /** Merges the failed batch waiting under a freshly loaded cache. */
  mergeInto(cache: Cache): void {
    if (this.#unstored !== null) {
      mergeUnder(cache, this.#unstored);
      this.#unstored = null;
    }
  }
}
