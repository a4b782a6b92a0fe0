// The cache of one subject and its way to storage: loads shared by
// concurrent first uses, cached changes kept for store(), plain values set
// without a load, direct writes that settle the cache, flush()'s deletion,
// what the change tracker is told, and the pace of every subject's store()s.
// The Subject is the facade over it: its public methods, their options and
// its events.

import type { UnsafeIntegers } from "../json/codec.ts";
import { checkPropertyName } from "../json/names.ts";
import { CorruptValueError } from "../json/errors.ts";
import { notExecuted, PropertyNotFoundError } from "../storage/errors.ts";
import {
  EncodedProperty,
  PropertyType,
  type PropertyTypeValue,
} from "../storage/property.ts";
import type { EncodedValue, SubjectStorage } from "../storage/types.ts";
import {
  batchOf,
  type Cache,
  checkedText,
  type Created,
  emptyCache,
  endAll,
  endChange,
  hasPending,
  isPending,
  makeProperty,
  newSection,
  overlay,
  pendingOf,
  recordAllCached,
  recordDeleted,
  setCached,
  textOf,
} from "./_changes.ts";
import { LazyValues } from "./_lazy_values.ts";
import { setOneByOne } from "./_one_by_one.ts";
import { StoreLedger } from "./_store_ledger.ts";
import { readTolerant, type Snapshot, takeSnapshot } from "./_removal.ts";
import type { GetOptions } from "./options.ts";

/**
 * Where a subject stands with its changes: `"storing"` while a `store()` is
 * in flight, `"pending"` while it holds changes no `store()` has sent, and
 * `"clean"` otherwise.
 */
export type ChangeState = "clean" | "pending" | "storing";

/**
 * What a subject tells its `KRules` about its changes, so that `close()` can
 * wait for the stores in flight and name the subjects that hold changes
 * never stored. An interface, so that this file does not import KRules'.
 */
export interface ChangeTracker {
  /**
   * The subject's state changed.
   *
   * @param subject The subject, as an identity.
   * @param name The subject's name.
   * @param state Its new state.
   */
  update(subject: WeakKey, name: string, state: ChangeState): void;
}

/**
 * Lets `perTurn` callers through in each event-loop turn, in the order they
 * asked; the others wait for a later turn. Work a program starts all at once
 * in one turn (a thousand `store()`s in a `Promise.all`) then goes a group at
 * a time: a socket write started by one group leaves while the next group
 * runs, instead of after all of them.
 */
export class TurnPacer {
  readonly #perTurn: number;
  /** Callers let through in the current turn. */
  #passed = 0;
  readonly #waiting: (() => void)[] = [];
  #head = 0;
  #scheduled = false;

  /**
   * @param perTurn How many callers go through in one turn.
   */
  constructor(perTurn: number) {
    this.#perTurn = perTurn;
  }

  /**
   * Asks to go through.
   *
   * @returns `undefined` when the caller may go on now, else a promise that
   *   resolves in the turn its group goes through.
   */
  pass(): Promise<void> | undefined {
    this.#schedule();
    if (this.#head === this.#waiting.length && this.#passed < this.#perTurn) {
      this.#passed++;
      return undefined;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#turn);
  }

  /** A new turn: the next group goes through, and it counts as this turn's. */
  #turn = (): void => {
    this.#scheduled = false;
    const end = Math.min(this.#head + this.#perTurn, this.#waiting.length);
    this.#passed = end - this.#head;
    for (; this.#head < end; this.#head++) this.#waiting[this.#head]();
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    }
    // The count goes back to 0 in the next turn, once this group is done.
    if (this.#passed > 0) this.#schedule();
  };
}

/**
 * The store()s of every subject that begin in one event-loop turn: 64, the
 * rest in later turns, 64 a turn. A program storing a thousand subjects at
 * once would otherwise prepare every write before the first could leave, the
 * server idle meanwhile; a group at a time, the server works on one group's
 * writes while the next is prepared.
 */
const STORES_PER_TURN = new TurnPacer(64);

/** The cache of one subject, its loads, and its writes to storage. */
export class CacheKeeper {
  /** The subject's name, for errors and the tracker. */
  readonly name: string;
  // The subject, as the tracker knows it.
  readonly #owner: WeakKey;
  readonly #storage: SubjectStorage;
  readonly #useCacheDefault: boolean;
  // The storage's rule for big integers, so a cached value is checked as
  // the storage will check it at store().
  readonly #integers: UnsafeIntegers;
  #cache: Cache | null = null;
  #loading: Promise<void> | null = null;
  // Plain values a cached setMany() set while nothing was loaded, nothing
  // loading and no change waiting for a load: they need no old value, so
  // they wait here, without a load, for store() to write them as they are,
  // or for the next load to put them over what it read. Only their fields:
  // never the cache itself. Null whenever the cache is loaded.
  #blind: Cache | null = null;
  // Cached sets and deletes still waiting for the first load: store() waits
  // for them, so a forgotten await cannot leave a change out of the batch.
  // (Created when first needed, as the other collections here: a loaded
  // subject should cost little more than its data.)
  #mutations: Set<Promise<unknown>> | undefined;
  // The stores in flight and the failed batch waiting to be merged back.
  // Created by the first store(), or by a write that failed after it ran.
  #ledger: StoreLedger | undefined;
  // Set when a write that ran, or may have, failed: until a load reads what
  // storage now holds, no cache may be made of values read before it.
  #mustLoad = false;
  // The deletion of a flush() in flight: direct writes and store()s called
  // after flush() wait for it, so that it cannot delete them.
  #flushing: Promise<void> | null = null;
  // Bumped whenever a load in flight may have missed a write, so its result
  // is dropped and loaded again rather than cached stale.
  #generation = 0;
  readonly #tracker: ChangeTracker | undefined;
  // The state the tracker was last told.
  #state: ChangeState = "clean";
  // store()s waiting for their turn: they count as stores in flight.
  #queuedStores = 0;

  /**
   * Keeps the cache of a subject.
   *
   * @param owner The subject, as the tracker knows it.
   * @param name The subject's name.
   * @param storage The subject's storage.
   * @param useCacheDefault Whether calls use the cache when they do not say.
   * @param tracker Who keeps count of the subjects holding changes.
   */
  constructor(
    owner: WeakKey,
    name: string,
    storage: SubjectStorage,
    useCacheDefault: boolean,
    tracker: ChangeTracker | undefined,
  ) {
    this.#owner = owner;
    this.name = name;
    this.#storage = storage;
    this.#useCacheDefault = useCacheDefault;
    this.#tracker = tracker;
    this.#integers = storage.unsafeIntegers ?? "reject";
  }

  /** Writes every cached change in one storage call, as Subject.store() says. */
  async store(): Promise<void> {
    const turn = STORES_PER_TURN.pass();
    if (turn === undefined) return await this.#store();
    this.#queuedStores++;
    this.#noteState();
    await turn;
    this.#queuedStores--;
    try {
      await this.#store();
    } finally {
      this.#noteState();
    }
  }

  async #store(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
    while (this.#mutations !== undefined && this.#mutations.size > 0) {
      await Promise.allSettled(this.#mutations);
    }
    // A failed batch waiting for a load is written too: load, and it merges.
    if (this.#cache === null && this.#ledger?.waiting() === true) {
      await this.withCache(() => undefined);
    }
    // Values set without a load are written as they are: plain sets, and
    // nothing loaded or waiting that they could be older than.
    const blind = this.#cache === null ? this.#blind : null;
    const cache = this.#cache ?? blind;
    if (cache === null) return;
    const { inserts, updates, deletes, conditions } = batchOf(
      cache,
      this.#integers,
    );
    // Dropped before the write, so that changes made while it is in flight
    // go to a fresh cache instead of one that is about to be discarded.
    this.#cache = null;
    this.#blind = null;
    this.#generation++;
    const ledger = this.#ledger ??= new StoreLedger();
    const number = ledger.begin(cache);
    this.#noteState();
    try {
      await this.#storage.store(
        conditions.length === 0
          ? { inserts, updates, deletes }
          : { inserts, updates, deletes, conditions },
      );
      ledger.written(cache, number);
    } catch (error) {
      // Only a write that certainly did not run is sent again: one that ran
      // may have been followed by another client's acknowledged write.
      if (notExecuted(error)) this.#restore(cache, number, blind !== null);
      else this.#forget(cache, number);
      throw error;
    } finally {
      ledger.end(cache);
      this.#noteState();
    }
  }

  /**
   * Deletes the subject in storage and drops the cache, as Subject.flush()
   * says.
   *
   * @returns What the subject held, for its events.
   */
  async flush(): Promise<[Snapshot, Snapshot]> {
    const { promise: deleted, resolve: deletionSettled } = Promise
      .withResolvers<void>();
    // Set before the first await, so that every direct write and store()
    // called from now on is sent after the deletion.
    this.#flushing = deleted;
    let before: Cache | undefined;
    let after: Cache | undefined;
    let snapshot: [Snapshot, Snapshot];
    try {
      snapshot = await this.withCache((cache) => {
        before = cache;
        // The subject is empty from here on: what is set meanwhile goes to
        // a fresh cache, which the deletion leaves alone.
        after = this.#cache = emptyCache();
        // A batch in flight was sent before the deletion: if it fails, it
        // must not bring back what the flush deleted.
        for (const batch of this.#ledger?.batches() ?? []) endAll(batch);
        return [takeSnapshot(cache.p.values), takeSnapshot(cache.e.values)];
      });
      await this.#storage.flush();
    } catch (error) {
      if (before !== undefined && this.#cache === after) {
        // Nothing was deleted after all: the old cache, under what changed.
        overlay(before, after!);
        this.#cache = before;
      }
      this.#noteState();
      throw error;
    } finally {
      if (this.#flushing === deleted) this.#flushing = null;
      deletionSettled();
    }
    // Reloaded on next use, unless it holds changes made meanwhile.
    if (this.#cache === after && !hasPending(after!)) {
      this.#cache = null;
      this.#generation++;
    }
    this.#noteState();
    return snapshot;
  }

  /**
   * Whether the subject holds cached changes that no store() has sent yet:
   * in the cache, waiting for the first load, or a failed batch waiting to
   * be stored again.
   */
  holdsUnstored(): boolean {
    return (this.#mutations !== undefined && this.#mutations.size > 0) ||
      (this.#cache !== null && hasPending(this.#cache)) ||
      (this.#blind !== null && hasPending(this.#blind)) ||
      this.#ledger?.holdsUnstored() === true;
  }

  /**
   * Sets several properties; with `wantOld`, returns `[name, new value, old
   * value]` for each (the old values are read only for that).
   */
  async setMany(
    type: PropertyTypeValue,
    values: object,
    useCache: boolean | undefined,
    wantOld: boolean,
  ): Promise<[string, unknown, unknown][] | undefined> {
    if (
      typeof values !== "object" || values === null || Array.isArray(values)
    ) {
      throw new TypeError(
        'setMany() takes an object of property values, e.g. { email: "a@b.c", logins: 1 }.',
      );
    }
    const cached = useCache ?? this.#useCacheDefault;
    // Without old values to return, plain values need no load: they wait in
    // #blind for store(), unless something loads or waits for a load, which
    // must see them in the order they were set.
    const blind = cached && !wantOld && this.#cache === null &&
      this.#loading === null && this.#flushing === null &&
      (this.#mutations === undefined || this.#mutations.size === 0);
    // A load a first cached setMany() does need leaves before its values are
    // checked, so that checking them overlaps its round trip; a bad value
    // still changes nothing, a read having no effect.
    const loading = cached && !blind && this.#cache === null
      ? this.#load()
      : undefined;
    let names: string[];
    let news: unknown[];
    let texts: Created[];
    try {
      // Every name and value is read and checked before anything changes,
      // and each value encoded once: store() writes these texts.
      [names, news] = ownEntries(values as Record<string, unknown>);
      texts = new Array<Created>(names.length);
      for (let i = 0; i < names.length; i++) {
        const name = names[i];
        checkPropertyName(name);
        texts[i] = checkedText(name, news[i], this.#integers);
      }
    } catch (error) {
      loading?.catch(() => {});
      throw error;
    }
    if (!cached) {
      while (this.#flushing !== null) await this.#flushing;
      const props = names.map((name, i) =>
        new EncodedProperty(
          type,
          name,
          news[i],
          textOf(name, news[i], texts[i], this.#integers),
        )
      );
      let olds: unknown[];
      try {
        olds = this.#storage.setMany !== undefined
          ? await this.#storage.setMany(props)
          : await setOneByOne(this.#storage, props);
      } catch (error) {
        if (!notExecuted(error)) this.#unsure(type, names);
        throw error;
      }
      for (let i = 0; i < names.length; i++) {
        this.#settle(type, names[i], true, news[i]);
      }
      return wantOld
        ? names.map((name, i) => [name, news[i], olds[i]])
        : undefined;
    }
    if (blind) {
      recordAllCached(this.#blind ??= emptyCache(), type, names, news, texts);
      this.#noteChange();
      return undefined;
    }
    return await this.#mutation(this.withCache((cache) => {
      const section = cache[type];
      // Read before any change, so that an old value that cannot be
      // decoded changes nothing.
      const olds = wantOld
        ? names.map((name) => section.values.get(name))
        : undefined;
      recordAllCached(cache, type, names, news, texts);
      return olds?.map((old, i) => [names[i], news[i], old]);
    }));
  }

  async get(
    type: PropertyTypeValue,
    prop: string,
    options: GetOptions = {},
  ): Promise<unknown> {
    checkPropertyName(prop);
    const hasDefault = Object.hasOwn(options, "default");
    if (options.useCache ?? this.#useCacheDefault) {
      return await this.withCache((cache) => {
        const values = cache[type].values;
        if (values.has(prop)) return values.get(prop);
        if (hasDefault) return options.default;
        throw new PropertyNotFoundError(this.name, prop, {
          extended: type === PropertyType.EXTENDED,
        });
      });
    }
    try {
      const value = await this.#storage.get(makeProperty(type, prop));
      this.#refreshRead(type, prop, true, value);
      return value;
    } catch (error) {
      if (!(error instanceof PropertyNotFoundError)) throw error;
      this.#refreshRead(type, prop, false);
      if (hasDefault) return options.default;
      throw error;
    }
  }

  set(
    type: PropertyTypeValue,
    prop: string,
    value: unknown,
    useCache: boolean | undefined,
  ): Promise<[unknown, unknown]> {
    try {
      checkPropertyName(prop);
      if (!(useCache ?? this.#useCacheDefault)) {
        if (this.#flushing !== null) {
          // Sent after the deletion of a flush() in flight, not before it.
          const write = () => this.set(type, prop, value, useCache);
          return this.#flushing.then(write);
        }
        return this.#storage.set(makeProperty(type, prop, value)).then(
          (result) => {
            this.#settle(type, prop, true, result[0]);
            return result;
          },
          (error) => {
            if (!notExecuted(error)) this.#unsure(type, [prop]);
            throw error;
          },
        );
      }
      const cache = this.#cache;
      if (cache !== null) {
        const result = setCached(cache[type], prop, value, this.#integers);
        this.#noteChange();
        return Promise.resolve(result);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#mutation(
      this.withCache((cache) =>
        setCached(cache[type], prop, value, this.#integers)
      ),
    );
  }

  /**
   * Deletes a property and returns the value it had, and whether its field
   * did not hold valid JSON: a corrupt field is deleted like any other, since
   * deleting needs no old value.
   */
  async delete(
    type: PropertyTypeValue,
    prop: string,
    useCache: boolean | undefined,
  ): Promise<[oldValue: unknown, corrupt: boolean]> {
    checkPropertyName(prop);
    if (!(useCache ?? this.#useCacheDefault)) {
      while (this.#flushing !== null) await this.#flushing;
      const property = makeProperty(type, prop);
      let oldValue: unknown;
      let corrupt = false;
      try {
        oldValue = await this.#storage.get(property);
      } catch (error) {
        if (error instanceof PropertyNotFoundError) {
          throw new PropertyNotFoundError(this.name, prop, {
            extended: type === PropertyType.EXTENDED,
            deleting: true,
            cause: error,
          });
        }
        if (!(error instanceof CorruptValueError)) throw error;
        corrupt = true;
      }
      try {
        await this.#storage.delete(property);
      } catch (error) {
        if (!notExecuted(error)) this.#unsure(type, [prop]);
        throw error;
      }
      this.#settle(type, prop, false);
      return [oldValue, corrupt];
    }
    return await this.#mutation(this.withCache((cache) => {
      const section = cache[type];
      if (!section.values.has(prop)) {
        throw new PropertyNotFoundError(this.name, prop, {
          extended: type === PropertyType.EXTENDED,
          deleting: true,
        });
      }
      const read = readTolerant(section.values, prop);
      recordDeleted(section, prop);
      return read;
    }));
  }

  #mutation<T>(change: Promise<T>): Promise<T> {
    // With a loaded cache, the change has been made by now.
    if (this.#cache !== null) {
      this.#noteChange();
      return change;
    }
    const mutations = this.#mutations ??= new Set();
    mutations.add(change);
    this.#noteChange();
    const done = () => {
      mutations.delete(change);
      this.#noteState();
    };
    change.then(done, done);
    return change;
  }

  #noteChange(): void {
    if (this.#state === "clean" && this.#tracker !== undefined) {
      this.#noteState();
    }
  }

  #noteState(): void {
    const tracker = this.#tracker;
    if (tracker === undefined) return;
    const state = this.#ledger?.storing === true || this.#queuedStores > 0
      ? "storing"
      : this.holdsUnstored()
      ? "pending"
      : "clean";
    if (state === this.#state) return;
    this.#state = state;
    tracker.update(this.#owner, this.name, state);
  }

  /**
   * Runs `use` on the loaded cache, loading it first if needed. `use` runs
   * synchronously right after the check, so no other call can swap the
   * cache out from under it.
   */
  async withCache<T>(use: (cache: Cache) => T): Promise<T> {
    while (this.#cache === null) await this.#load();
    return use(this.#cache);
  }

  #load(): Promise<void> {
    // Concurrent first uses share one load() instead of racing several.
    if (this.#loading === null) {
      const generation = this.#generation;
      const storage = this.#storage;
      // Values are decoded when read, where the storage allows it: a subject
      // usually reads a few of its properties, not all of them.
      const loaded: Promise<[Map<string, unknown>, Map<string, unknown>]> =
        storage.loadLazy !== undefined
          ? storage.loadLazy().then(([props, extProps]) => [
            lazyValues(props),
            lazyValues(extProps),
          ])
          : storage.load().then(([props, extProps]) => [
            toMap(props),
            toMap(extProps),
          ]);
      this.#loading = loaded.then(([props, extProps]) => {
        if (generation !== this.#generation || this.#cache !== null) return;
        this.#cache = {
          [PropertyType.DEFAULT]: newSection(props),
          [PropertyType.EXTENDED]: newSection(extProps),
        };
        this.#mustLoad = false;
        this.#ledger?.mergeInto(this.#cache);
        this.#takeBlind();
      }).finally(() => {
        this.#loading = null;
      });
    }
    return this.#loading;
  }

  /**
   * Makes a loaded cache agree with storage after a direct read, unless the
   * property has a pending change: a read never ends a change it did not see.
   */
  #refreshRead(
    type: PropertyTypeValue,
    prop: string,
    present: boolean,
    value?: unknown,
  ): void {
    const section = this.#cache?.[type];
    if (section === undefined || isPending(section, prop)) return;
    if (present) section.values.set(prop, value);
    else section.values.delete(prop);
  }

  /**
   * Makes the subject agree with storage after a direct write or delete.
   * The property is no longer a pending change anywhere (the cache, a batch
   * being stored, a failed batch): storage already holds what the caller
   * wrote, so no `store()` may write an older change back over it.
   */
  #settle(
    type: PropertyTypeValue,
    prop: string,
    present: boolean,
    value?: unknown,
  ): void {
    this.#endPendingApart(type, prop);
    if (this.#cache === null) {
      // A load in flight may have read storage before this write.
      if (this.#loading !== null) this.#generation++;
      // The write may have ended the last pending change.
      if (this.#state !== "clean") this.#noteState();
      return;
    }
    const section = this.#cache[type];
    pendingOf(section);
    if (present) section.values.set(prop, value);
    else section.values.delete(prop);
    endChange(section, prop);
    if (this.#state !== "clean") this.#noteState();
  }

  /**
   * Ends a property's change wherever it waits apart from the cache: in the
   * batches stored or failed (the ledger) and among the values set without
   * a load. A direct write of it is newer than all of them.
   */
  #endPendingApart(type: PropertyTypeValue, prop: string): void {
    this.#ledger?.endPending(type, prop);
    if (this.#blind !== null) endChange(this.#blind[type], prop);
  }

  /**
   * After a direct write that failed but ran, or may have: as after one that
   * succeeded, no older change of those properties may be written over it,
   * but what storage now holds is unknown, so the cache is loaded again.
   */
  #unsure(type: PropertyTypeValue, props: readonly string[]): void {
    for (const prop of props) {
      this.#endPendingApart(type, prop);
      if (this.#cache !== null) endChange(this.#cache[type], prop);
    }
    this.#reloadCache();
  }

  /**
   * After a store() that failed but ran, or may have: its changes are never
   * sent again (another client may have written over them since, and been
   * told so), an older failed batch may not bring back what it wrote, and
   * the cache is loaded again, so that reads see what storage holds.
   */
  #forget(failed: Cache, number: number): void {
    this.#ledger?.written(failed, number);
    this.#reloadCache();
  }

  /**
   * Drops the loaded cache, and any load in flight, so the next read loads
   * storage again; its pending changes wait for that load, to go on top.
   */
  #reloadCache(): void {
    const cache = this.#cache;
    if (cache !== null) {
      (this.#ledger ??= new StoreLedger()).park(cache);
      this.#cache = null;
    }
    this.#mustLoad = true;
    this.#generation++;
  }

  /**
   * Takes back the changes of a batch whose store() failed without running,
   * as the ledger decides; as the cache only when no load is in flight or
   * owed (see StoreLedger.restore).
   */
  #restore(failed: Cache, number: number, blind: boolean): void {
    this.#cache = this.#ledger!.restore(
      failed,
      number,
      this.#cache,
      // Values set without a load are no cache: they wait for one.
      !blind && this.#loading === null && !this.#mustLoad,
    );
    this.#takeBlind();
  }

  /** Puts the values set without a load over the cache, once there is one. */
  #takeBlind(): void {
    if (this.#cache === null || this.#blind === null) return;
    overlay(this.#cache, this.#blind);
    this.#blind = null;
  }
}

/** The cache of a lazy load: a plain map when there is nothing to decode. */
function lazyValues(encoded: Map<string, EncodedValue>): Map<string, unknown> {
  return encoded.size === 0 ? new Map() : new LazyValues(encoded);
}

function toMap(values: Record<string, unknown>): Map<string, unknown> {
  const [names, read] = ownEntries(values);
  const map = new Map<string, unknown>();
  for (let i = 0; i < names.length; i++) map.set(names[i], read[i]);
  return map;
}

/**
 * The own enumerable properties of `values`, as `Object.keys()` names them
 * and their values, each read once, by its name, in that order. V8 reads
 * them fastest in a `for…in` walk, by their place in the object; reading
 * each by a name from `Object.keys()` (a hundred names at one place in the
 * code, which V8 looks up one by one) took a third of a cached `setMany()`.
 */
function ownEntries(
  values: Record<string, unknown>,
): [names: string[], values: unknown[]] {
  const names = Object.keys(values);
  const read = new Array<unknown>(names.length);
  let n = 0;
  // for…in walks the same names in the same order, then those inherited;
  // a proxy may name them otherwise, a getter delete one not yet walked.
  for (const name in values) {
    if (name !== names[n]) break;
    read[n++] = values[name];
  }
  for (; n < names.length; n++) read[n] = values[names[n]];
  return [names, read];
}
