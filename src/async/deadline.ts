/**
 * Bounding a wait by a deadline: the one home of "settle with this, or fail
 * when the time is up" for the clients that wait on a connection or a reply
 * on a caller's behalf.
 *
 * @module
 */

/**
 * Settles as `promise` does, or rejects with `onLate()` once `deadline` (a
 * `performance.now()` time) has passed; `promise`'s later outcome is then
 * ignored.
 *
 * @param promise What is waited for.
 * @param deadline When to stop waiting; `Infinity` waits as long as it takes.
 * @param onLate Makes the error for a wait that ran out of time.
 * @returns `promise`'s value.
 */
export function beforeDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  onLate: () => Error,
): Promise<T> {
  if (deadline === Infinity) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      promise.catch(() => {});
      reject(onLate());
    }, Math.max(0, deadline - performance.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
