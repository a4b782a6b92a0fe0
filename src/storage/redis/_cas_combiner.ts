/**
 * Optimistic compare-and-set of one hash field, with combining: concurrent
 * updates of the same field through the same client share one read and one
 * compare-and-set. Without it, N concurrent increments on one connection
 * would all read the same old value, and all but one would conflict on
 * every round, costing O(N²) round trips; with it they cost one or two.
 *
 * @module
 */
import {
  backoffDelay,
  type BackoffPolicy,
  sleep,
} from "../../async/backoff.ts";
import type { RedisSender } from "../../client/types.ts";
import { RedisUnexpectedReplyError } from "../../client/errors.ts";
import { CorruptValueError } from "../../json/errors.ts";
import {
  decodeValue,
  encodeValue,
  type UnsafeIntegers,
} from "../../json/codec.ts";
import { ConflictError } from "../errors.ts";
import { CAS_SCRIPT, runScript } from "./scripts.ts";
import { casMetrics } from "../../telemetry/cas_metrics.ts";

/**
 * The wait after a second conflict in a row: full jitter, from 8 ms doubling
 * up to 64 ms. A conflict returns the current value, so the first one is
 * retried at once; losing again means other writers keep winning, and the
 * wait spreads the attempts of many writers out so that few are in flight at
 * once. With 64 writers of one field at +0.5 ms (bench/contention.ts), their
 * own traffic stretched a round trip to 2-4 ms when they waited less: a cap
 * of 32 ms made more compare-and-sets per increment and fewer increments per
 * second than one of 64 ms.
 */
export const CONFLICT_BACKOFF: BackoffPolicy = {
  baseMs: 8,
  maxMs: 64,
  floor: 0,
};

interface Job {
  readonly update: (old: unknown) => unknown;
  readonly oldValueDefault: unknown;
  readonly maxAttempts: number;
  attempts: number;
  readonly resolve: (result: [unknown, unknown]) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome =
  | { readonly ok: true; readonly value: unknown; readonly old: unknown }
  | { readonly ok: false; readonly error: unknown };

/**
 * Fields whose last seen text a combiner remembers once their updates are
 * done, and the longest text it keeps: a hint of 2 MiB at most, not a cache.
 */
const KNOWN_FIELDS = 1024;
const KNOWN_TEXT_LENGTH = 1024;

/** One compare-and-set update of one field, as {@linkcode CasCombiner.compareAndSet} takes it. */
export interface CasRequest {
  /** The hash holding the field. */
  readonly key: string;
  /** The field, type letter included. */
  readonly field: string;
  /** The property name, for error messages. */
  readonly property: string;
  /** Computes the new value from the old one; it may run more than once. */
  readonly update: (old: unknown) => unknown;
  /** What `update` gets as the old value when the field is absent. */
  readonly oldValueDefault: unknown;
  /** How many compare-and-set attempts to make before `ConflictError`. */
  readonly maxAttempts: number;
}

/**
 * The compare-and-set updates in flight on one connection, by field. The
 * storage factory owns one, so every storage it opens combines with every
 * other; a field's queue lives only while it has updates to run.
 */
export class CasCombiner {
  readonly #client: RedisSender;
  readonly #integers: UnsafeIntegers;
  readonly #updaters = new Map<string, FieldUpdater>();
  /**
   * Each idle field's text as this combiner last wrote or saw it, oldest
   * first. The next update of the field goes straight to a compare-and-set
   * on it: one round trip instead of a read and a compare-and-set when no
   * one else wrote meanwhile (a writer that keeps one field busy, like a
   * counter), and when someone did, the conflict's reply is as good as the
   * read. It is never trusted: only the script compares it.
   */
  readonly #known = new Map<string, string | null>();

  /**
   * Creates a combiner with nothing in flight.
   *
   * @param client The connection every update is sent on.
   * @param integers How values are decoded and encoded: the storage's option.
   */
  constructor(client: RedisSender, integers: UnsafeIntegers = "reject") {
    this.#client = client;
    this.#integers = integers;
  }

  /**
   * Applies `update` to the current value of one field atomically, as if it
   * ran alone: reads the field, computes, and writes only if the field did
   * not change meanwhile, retrying with jittered backoff otherwise.
   *
   * The function may run more than once (once per attempt), so it should be
   * free of side effects.
   *
   * @param request The field, the update and its limits.
   * @returns The new value and the old value.
   */
  compareAndSet(request: CasRequest): Promise<[unknown, unknown]> {
    const { key, field } = request;
    // Length-prefixed so that no key/field pair can collide with another.
    const id = `${key.length}:${key}${field}`;
    let updater = this.#updaters.get(id);
    if (updater === undefined) {
      const known = this.#known.get(id);
      this.#known.delete(id);
      updater = new FieldUpdater(
        this.#client,
        key,
        field,
        request.property,
        this.#integers,
        known,
        (last) => {
          this.#updaters.delete(id);
          this.#remember(id, last);
        },
      );
      this.#updaters.set(id, updater);
    }
    const queued = updater;
    return new Promise((resolve, reject) => {
      queued.enqueue({
        update: request.update,
        oldValueDefault: request.oldValueDefault,
        maxAttempts: request.maxAttempts,
        attempts: 0,
        resolve,
        reject,
      });
    });
  }

  #remember(id: string, text: string | null | undefined): void {
    if (text === undefined || (text?.length ?? 0) > KNOWN_TEXT_LENGTH) return;
    if (this.#known.size >= KNOWN_FIELDS) {
      this.#known.delete(this.#known.keys().next().value!);
    }
    this.#known.set(id, text);
  }
}

class FieldUpdater {
  readonly #client: RedisSender;
  readonly #key: string;
  readonly #field: string;
  readonly #property: string;
  readonly #integers: UnsafeIntegers;
  readonly #onIdle: (known: string | null | undefined) => void;
  #queue: Job[] = [];
  #running = false;
  /**
   * The field's text as of this updater's last round trip, or as the
   * combiner last saw it before this updater started; `undefined` when
   * unknown (the first attempt reads it).
   */
  #known: string | null | undefined;

  constructor(
    client: RedisSender,
    key: string,
    field: string,
    property: string,
    integers: UnsafeIntegers,
    known: string | null | undefined,
    onIdle: (known: string | null | undefined) => void,
  ) {
    this.#client = client;
    this.#key = key;
    this.#field = field;
    this.#property = property;
    this.#integers = integers;
    this.#known = known;
    this.#onIdle = onIdle;
  }

  enqueue(job: Job): void {
    this.#queue.push(job);
    if (this.#running) return;
    this.#running = true;
    // Deferred so that every caller of the current tick joins the first batch.
    queueMicrotask(() => this.#drain());
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      await this.#runBatch(batch);
    }
    // While idle the field may change at will: what was last seen is only
    // the combiner's guess for the next run.
    const known = this.#known;
    this.#known = undefined;
    this.#running = false;
    this.#onIdle(known);
  }

  /** Runs one batch to the end; it settles every job it took on, never throws. */
  async #runBatch(batch: Job[]): Promise<void> {
    const state = { jobs: batch };
    try {
      await this.#attempt(state);
    } catch (error) {
      // A connection or server error: every job in the batch failed alike.
      this.#known = undefined;
      for (const job of state.jobs) job.reject(error);
    }
  }

  async #attempt(state: { jobs: Job[] }): Promise<void> {
    let jobs = state.jobs;
    // The value this updater last wrote or saw when a batch follows another,
    // or the one the combiner remembers from the field's last run: a
    // compare-and-set on it wins if no one else wrote meanwhile, and if
    // someone did, its reply is as good as a read.
    let raw = this.#known !== undefined ? this.#known : await this.#read();
    // Whether `raw` came from the last round trip, rather than from before a
    // wait or from an earlier batch or run: only then may an update that
    // threw on it be settled without a compare-and-set to confirm the value.
    let fresh = this.#known === undefined;
    this.#known = undefined;
    // Conflicts since the last wait: the first is retried at once on the
    // value the script returned, the second waits.
    let losses = 0;
    let waits = 0;
    while (true) {
      const outcomes = jobs.map((): Outcome => ({ ok: false, error: null }));
      // The jobs run in arrival order, each seeing the previous one's result,
      // exactly as if they had been applied one after another.
      let text = raw;
      let written: string | undefined;
      for (let i = 0; i < jobs.length; i++) {
        const job = jobs[i];
        job.attempts++;
        try {
          const old = text === null
            ? job.oldValueDefault
            : decodeValue(this.#key, this.#field, text, this.#integers);
          const value = job.update(old);
          text = written = encodeValue(this.#property, value, this.#integers);
          outcomes[i] = { ok: true, value, old };
        } catch (error) {
          outcomes[i] = { ok: false, error };
        }
      }
      if (written === undefined) {
        if (!fresh) {
          // Every update threw, on a value that may have changed since:
          // read it, and run them again as this same attempt.
          for (const job of jobs) job.attempts--;
          raw = await this.#read();
          fresh = true;
          continue;
        }
        this.#known = raw;
        settle(jobs, outcomes);
        return;
      }
      const reply = await runScript(this.#client, CAS_SCRIPT, this.#key, [
        this.#field,
        raw === null ? "0" : "1",
        raw ?? "",
        written,
      ]);
      casMetrics?.round(jobs.length, reply !== 1);
      if (reply === 1) {
        this.#known = written;
        settle(jobs, outcomes);
        return;
      }
      const current = Array.isArray(reply) ? reply[0] : undefined;
      if (typeof current !== "string" && current !== null) {
        throw new RedisUnexpectedReplyError(
          "the compare-and-set script",
          reply,
        );
      }
      if (current === raw) {
        // The text matched but the bytes did not: the field holds bytes that
        // are not valid UTF-8, so no read can ever match it.
        throw new CorruptValueError(this.#key, this.#field);
      }
      raw = current;
      fresh = true;
      jobs = state.jobs = jobs.filter((job) => {
        if (job.attempts < job.maxAttempts) return true;
        job.reject(new ConflictError(this.#key, this.#property, job.attempts));
        return false;
      });
      if (++losses === 2) {
        losses = 0;
        if (jobs.length === 0 && this.#queue.length === 0) break;
        // The next attempt goes on the value seen before the wait: if the
        // field went quiet meanwhile it wins, and if not, its reply is the
        // fresh value the attempt after it goes on at once.
        await sleep(backoffDelay(++waits, CONFLICT_BACKOFF));
        fresh = false;
      }
      // Updates queued meanwhile join the retry instead of waiting for it,
      // so that each round trip carries every function queued so far.
      jobs = state.jobs = jobs.concat(this.#queue);
      this.#queue = [];
      if (jobs.length === 0) break;
    }
    this.#known = raw;
  }

  async #read(): Promise<string | null> {
    const reply = await this.#client.send(["HGET", this.#key, this.#field]);
    if (typeof reply !== "string" && reply !== null) {
      throw new RedisUnexpectedReplyError("HGET", reply);
    }
    return reply;
  }
}

function settle(jobs: readonly Job[], outcomes: readonly Outcome[]): void {
  for (let i = 0; i < jobs.length; i++) {
    const outcome = outcomes[i];
    if (outcome.ok) jobs[i].resolve([outcome.value, outcome.old]);
    else jobs[i].reject(outcome.error);
  }
}
