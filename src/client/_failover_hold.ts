/**
 * The Sentinel client's hold on new commands while a failover is under way,
 * and the time limit of that hold.
 *
 * @module
 */

/**
 * Sentinel's own default `failover-timeout`: how long a hold lasts until a
 * Sentinel's answer tells the configured one.
 */
const DEFAULT_FAILOVER_TIMEOUT_MS = 180_000;

/**
 * Whether a failover holds new commands back. A hold lasts until it is
 * ended, or at the latest the Sentinels' `failover-timeout`, by which
 * Sentinel has ended or aborted the failover.
 */
export class FailoverHold {
  #held = false;
  #since = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #expired: () => void;
  /** The Sentinels' `failover-timeout`, once an answer told it. */
  timeoutMs: number = DEFAULT_FAILOVER_TIMEOUT_MS;

  /**
   * @param expired Called when a hold outlasts {@linkcode FailoverHold.timeoutMs}.
   */
  constructor(expired: () => void) {
    this.#expired = expired;
  }

  /** Whether a failover is under way: new commands wait for its end. */
  get held(): boolean {
    return this.#held;
  }

  /** `performance.now()` when the hold began; `-Infinity` before any. */
  get since(): number {
    return this.#since;
  }

  /** Begins a hold, or extends the one under way by a full timeout. */
  begin(): void {
    if (!this.#held) this.#since = performance.now();
    this.#held = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#expired, this.timeoutMs);
  }

  /** Ends the hold. */
  end(): void {
    clearTimeout(this.#timer);
    this.#held = false;
  }
}
