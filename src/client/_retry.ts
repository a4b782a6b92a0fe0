/**
 * The one "send again what was not executed, within the deadline" loop of
 * the cluster and Sentinel clients. Each client says what an attempt is and
 * which failures pass (a failover, a redirect, a master loading its data);
 * this loop makes sure that nothing that may have run is sent again, and
 * that a command still not executed at its deadline says so.
 *
 * @module
 */

import { sleep } from "../async/backoff.ts";
import { notExecuted } from "./errors.ts";

/** What a client's retrying needs to know. */
export interface RetryPolicy<T> {
  /** `performance.now()` after which no attempt starts; `Infinity` for none. */
  readonly deadline: number;
  /** Sends the command once more. */
  attempt(): Promise<T>;
  /**
   * Looks at a failed attempt (it may act on it, e.g. refresh a slot map)
   * and returns how many milliseconds to wait before the next attempt, or
   * `undefined` when the failure is the command's result. It may throw a
   * better error instead. A failure that may have been executed is never
   * retried, whatever this returns.
   *
   * @param error What the attempt rejected with.
   * @param retries How many failures so far, from 1.
   */
  next(error: unknown, retries: number): number | undefined;
  /**
   * The error for a command that was not executed by its deadline: it says
   * so (`executed: "no"`) and keeps `last` as its cause.
   */
  late(last: unknown): Error;
}

/**
 * The connection a command was to go out on could not be opened: it was
 * never sent, whatever `error` (the connect failure) says of execution.
 */
export class Unsent extends Error {
  /**
   * Wraps a connect failure.
   *
   * @param error Why the connection did not come up.
   */
  constructor(readonly error: unknown) {
    super("not sent");
  }
}

/**
 * Runs `policy.attempt()` until it succeeds, a failure is final, or the
 * deadline leaves no time for another attempt.
 *
 * @param policy The client's attempts and its judgement of failures.
 * @param failure The failure of an attempt already made (the clients' fast
 * path sends once before it needs this loop); none to start by attempting.
 * @returns What the successful attempt resolved with.
 */
export async function retryWithinDeadline<T>(
  policy: RetryPolicy<T>,
  ...failure: [unknown] | []
): Promise<T> {
  let failed = failure.length > 0;
  let error: unknown = failure[0];
  for (let retries = 0;;) {
    if (failed) {
      retries++;
      const delay = policy.next(error, retries);
      if (delay === undefined || !notExecuted(error)) throw error;
      if (performance.now() + delay >= policy.deadline) {
        throw policy.late(error);
      }
      if (delay > 0) await sleep(delay);
    }
    try {
      return await policy.attempt();
    } catch (caught) {
      error = caught;
      failed = true;
    }
  }
}
