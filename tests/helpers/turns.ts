/**
 * Event-loop turns for tests that count them.
 *
 * @module
 */

/** Resolves in the next event-loop turn (a `setImmediate`). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
