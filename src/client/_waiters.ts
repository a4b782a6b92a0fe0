/**
 * Callers waiting for a value that is not there yet (the Sentinel client's
 * master), each until its own deadline.
 *
 * @module
 */

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/** Callers waiting for one value, each until its own deadline. */
export class Waiters<T> {
  readonly #waiting = new Set<Waiter<T>>();

  /** How many wait. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Waits for {@linkcode Waiters.resolveAll} or {@linkcode Waiters.rejectAll}.
   *
   * @param deadline `performance.now()` by which it must settle, or `Infinity`.
   * @param late Makes the error it rejects with at its deadline, told then.
   * @returns The value.
   */
  wait(deadline: number, late: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter: Waiter<T> = {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiting.add(waiter);
      if (deadline !== Infinity) {
        timer = setTimeout(() => {
          this.#waiting.delete(waiter);
          reject(late());
        }, Math.max(0, deadline - performance.now()));
      }
    });
  }

  /**
   * Gives `value` to every caller waiting now.
   *
   * @param value The value they waited for.
   */
  resolveAll(value: T): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const waiter of waiting) waiter.resolve(value);
  }

  /**
   * Rejects every caller waiting now.
   *
   * @param error Why the value will not come.
   */
  rejectAll(error: Error): void {
    for (const waiter of this.#waiting) waiter.reject(error);
    this.#waiting.clear();
  }
}
