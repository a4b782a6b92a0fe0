/**
 * Event-loop turns: waiting for the next one, and letting only so many
 * callers through in each, so that a burst of work is done a group at a time
 * with the loop running in between (sockets written and read, timers fired).
 *
 * @module
 */

/** Resolves once pending microtasks, and the writes they start, have run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
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
