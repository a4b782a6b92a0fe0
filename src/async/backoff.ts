/**
 * Waiting between attempts: the one home of the jittered exponential backoff
 * that reconnects, cluster retries and compare-and-set retries share.
 *
 * @module
 */

/** How the wait before an attempt grows and how much of it is random. */
export interface BackoffPolicy {
  /** The bound of the first retry's wait, in milliseconds. */
  readonly baseMs: number;
  /** The largest bound, however many attempts came before, in milliseconds. */
  readonly maxMs: number;
  /**
   * The share of the bound that is always waited, from 0 (full jitter: any
   * wait from 0 to the bound) to 1 (no jitter). Jitter keeps many clients
   * that failed together from retrying in step.
   */
  readonly floor: number;
}

/**
 * The wait before retry number `retry` (1 for the first retry): a random
 * delay between `floor × bound` and the bound, where the bound doubles from
 * `baseMs` with every retry up to `maxMs`.
 *
 * @param retry Which retry this is, counting from 1.
 * @param policy The bounds and the jitter.
 * @returns The wait in milliseconds.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy): number {
  const bound = Math.min(policy.maxMs, policy.baseMs * 2 ** (retry - 1));
  return bound * (policy.floor + Math.random() * (1 - policy.floor));
}

/**
 * Resolves after `ms` milliseconds, or at once when `signal` aborts (it never
 * rejects: the caller checks why it woke up).
 *
 * @param ms How long to wait.
 * @param signal Ends the wait early.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
