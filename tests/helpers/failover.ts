/**
 * Load for failover tests: concurrent writers doing atomic increments of one
 * shared counter and stores of their own sequence numbers through the
 * storage, counting exactly what resolved and what failed.
 *
 * @module
 */
import { RedisError } from "../../src/client/errors.ts";
import { SubjectProperty } from "../../src/storage/property.ts";
import type { StorageFactory } from "../../src/storage/types.ts";

/** The shared counter every writer increments. */
export const COUNTER = "counter";

/** What the writers saw. */
export interface FailoverLoad {
  /** Increments whose call resolved: each was acknowledged. */
  readonly increments: number;
  /** Per writer, the highest sequence number whose store resolved. */
  readonly lastStored: number[];
  /** Every error a caller saw, by error name. */
  readonly errors: Record<string, number>;
  /** The first few error messages, for the printout. */
  readonly samples: string[];
  /**
   * Failed increments by what their error says of execution (`executed`:
   * "no", "maybe", "yes"); an error that is not a `RedisError` counts as "no".
   */
  readonly failedIncrements: Record<string, number>;
  /** The first few messages of errors that said "not executed". */
  readonly notExecutedSamples: string[];
  /** `performance.now()` of every successful call, in order. */
  readonly successes: number[];
  /** `performance.now()` of every resolved increment, in order. */
  readonly incremented: number[];
  /**
   * Resolves once `n` calls succeeded after `since` (a `performance.now()`),
   * with the time of the first of them.
   */
  succeeded(n: number, since?: number): Promise<number>;
  /** The same for increments alone. */
  incrementedAfter(n: number, since: number): Promise<number>;
  /** Stops the writers and waits for their last calls to settle. */
  stop(): Promise<void>;
}

/**
 * Starts `writers` writers. Each loops: an atomic increment of `counter.n`,
 * then a store of its own subject's `seq`.
 *
 * @param storage The storage factory under test.
 * @param writers How many writers run at once.
 * @param limitMs The writers stop by themselves after this long, so a
 *   broken test ends.
 */
export function startFailoverLoad(
  storage: StorageFactory,
  writers = 4,
  limitMs = 20_000,
): FailoverLoad {
  let stopped = false;
  const successes: number[] = [];
  const incremented: number[] = [];
  const errors: Record<string, number> = {};
  const samples: string[] = [];
  const lastStored = new Array(writers).fill(0);
  let increments = 0;
  type Watcher = (at: number) => void;
  const watchers: Watcher[] = [];
  const incrementWatchers: Watcher[] = [];
  const succeed = (increment: boolean) => {
    const at = performance.now();
    successes.push(at);
    for (const watcher of [...watchers]) watcher(at);
    if (increment) {
      incremented.push(at);
      for (const watcher of [...incrementWatchers]) watcher(at);
    }
  };
  const failedIncrements: Record<string, number> = {};
  const notExecutedSamples: string[] = [];
  const failIncrement = (error: unknown) => {
    const executed = error instanceof RedisError ? error.executed : "no";
    failedIncrements[executed] = (failedIncrements[executed] ?? 0) + 1;
    if (executed === "no" && notExecutedSamples.length < 5) {
      notExecutedSamples.push(String(error));
    }
    fail(error);
  };
  const fail = (error: unknown) => {
    const name = error instanceof Error ? error.name : String(error);
    errors[name] = (errors[name] ?? 0) + 1;
    if (samples.length < 5) {
      samples.push(error instanceof Error ? error.message : String(error));
    }
  };
  const until = performance.now() + limitMs;
  const loops = Array.from({ length: writers }, async (_, i) => {
    const counter = storage(COUNTER);
    const own = storage(`writer-${i}`);
    for (let seq = 1; !stopped && performance.now() < until; seq++) {
      try {
        await counter.set(
          new SubjectProperty(
            "n",
            (n: unknown) => (typeof n === "number" ? n : 0) + 1,
          ),
        );
        increments++;
        succeed(true);
      } catch (error) {
        failIncrement(error);
      }
      try {
        await own.store({ updates: [new SubjectProperty("seq", seq)] });
        lastStored[i] = seq;
        succeed(false);
      } catch (error) {
        fail(error);
      }
    }
  });
  /** Resolves once `times` holds `n` entries after `since`, with the first. */
  const waitFor = (
    times: number[],
    list: Watcher[],
    n: number,
    since: number,
  ): Promise<number> => {
    const earlier = times.filter((t) => t > since);
    let seen = earlier.length;
    let first: number | undefined = earlier[0];
    return new Promise((resolve, reject) => {
      if (seen >= n) return resolve(first!);
      const watcher = (at: number) => {
        if (at <= since) return;
        seen++;
        first ??= at;
        if (seen >= n) {
          list.splice(list.indexOf(watcher), 1);
          resolve(first);
        }
      };
      list.push(watcher);
      // The writers stop by themselves at the limit; so does the wait.
      Promise.all(loops).then(() => {
        if (list.includes(watcher)) {
          list.splice(list.indexOf(watcher), 1);
          reject(
            new Error(
              `Only ${seen} of ${n} calls succeeded in time; errors: ${
                JSON.stringify(errors)
              } ${samples.join(" | ")}`,
            ),
          );
        }
      });
    });
  };
  return {
    get increments() {
      return increments;
    },
    lastStored,
    errors,
    samples,
    failedIncrements,
    notExecutedSamples,
    successes,
    incremented,
    succeeded(n: number, since = -Infinity): Promise<number> {
      return waitFor(successes, watchers, n, since);
    },
    incrementedAfter(n: number, since: number): Promise<number> {
      return waitFor(incremented, incrementWatchers, n, since);
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Errors a caller can get for a call whose outcome is unknown: it may have been applied. */
export function ambiguous(errors: Record<string, number>): number {
  return (errors.RedisConnectionError ?? 0) + (errors.RedisTimeoutError ?? 0) +
    (errors.ReplicationError ?? 0);
}
