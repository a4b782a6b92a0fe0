import { KRules, unstoredChanges } from "./krules.ts";

/**
 * Fails when a subject that `krules` opened still holds changes that were
 * never stored: a cached `set()` or `delete()` whose `store()` was not
 * called, or failed. For your own tests, after the code under test has run:
 * a forgotten `store()` shows up as a failing test rather than as data
 * missing in production. It waits for `store()`s in flight first, and does
 * not close `krules`.
 *
 * @param krules The instance the code under test used.
 * @throws {UnstoredChangesError} Naming the subjects that hold such changes.
 *
 * @example
 * ```ts
 * import { createMemoryStorage, KRules } from "@x/redis-subjects";
 * import { assertAllStored } from "@x/redis-subjects/testing";
 *
 * async function signUp(krules: KRules, name: string): Promise<void> {
 *   const user = krules.subject(name);
 *   await user.set("status", "new");
 *   await user.store();
 * }
 *
 * const krules = new KRules({ storage: createMemoryStorage() });
 * await signUp(krules, "user-1");
 * await assertAllStored(krules); // resolves: signUp() stored its change
 * ```
 */
export async function assertAllStored(krules: KRules): Promise<void> {
  if (!(krules instanceof KRules)) {
    throw new TypeError(
      "assertAllStored() takes the KRules instance to check.",
    );
  }
  const error = await unstoredChanges(
    krules,
    "The code under test must call store() on each subject after its last change.",
  );
  if (error !== undefined) throw error;
}
