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
 * Backoff before trying again after repeated conflicts: full jitter, up to
 * 50 ms. The storage's conditioned store() uses it too.
 */
export const CONFLICT_BACKOFF: BackoffPolicy = {
  baseMs: 1,
  maxMs: 50,
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
      updater = new FieldUpdater(
        this.#client,
        key,
        field,
        request.property,
        this.#integers,
        () => this.#updaters.delete(id),
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
}

class FieldUpdater {
  readonly #client: RedisSender;
  readonly #key: string;
  readonly #field: string;
  readonly #property: string;
  readonly #integers: UnsafeIntegers;
  readonly #onIdle: () => void;
  #queue: Job[] = [];
  #running = false;

  constructor(
    client: RedisSender,
    key: string,
    field: string,
    property: string,
    integers: UnsafeIntegers,
    onIdle: () => void,
  ) {
    this.#client = client;
    this.#key = key;
    this.#field = field;
    this.#property = property;
    this.#integers = integers;
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
    this.#running = false;
    this.#onIdle();
  }

  /** Runs one batch to the end; it settles every job it took on, never throws. */
  async #runBatch(batch: Job[]): Promise<void> {
    const state = { jobs: batch };
    try {
      await this.#attempt(state);
    } catch (error) {
      // A connection or server error: every job in the batch failed alike.
      for (const job of state.jobs) job.reject(error);
    }
  }

  async #attempt(state: { jobs: Job[] }): Promise<void> {
    let jobs = state.jobs;
    let raw = await this.#read();
    let conflicts = 0;
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
      conflicts++;
      const remaining: Job[] = [];
      for (const job of jobs) {
        if (job.attempts >= job.maxAttempts) {
          job.reject(
            new ConflictError(this.#key, this.#property, job.attempts),
          );
        } else {
          remaining.push(job);
        }
      }
      // Updates queued meanwhile join the retry instead of waiting for it.
      jobs = state.jobs = remaining.concat(this.#queue);
      this.#queue = [];
      if (jobs.length === 0) return;
      if (conflicts === 1) {
        // The script returned the value it saw; retrying on it at once wins
        // whenever the other writer has finished.
        raw = current;
      } else {
        await sleep(backoffDelay(conflicts - 1, CONFLICT_BACKOFF));
        raw = await this.#read();
      }
    }
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
