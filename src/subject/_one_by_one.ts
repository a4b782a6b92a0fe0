// setMany() for a storage without one: a set at a time, and an error that
// says the call as a whole may be partly applied.

import { RedisError, RedisReplyError } from "../client/errors.ts";
import { notExecuted } from "../storage/errors.ts";
import type { Property } from "../storage/property.ts";
import type { SubjectStorage } from "../storage/types.ts";

/**
 * Writes properties one `set()` at a time, for a storage without
 * `setMany()`: not atomic, but each write is one. A set that fails after
 * earlier ones were applied rejects with `executed: "maybe"` even when that
 * set itself did not run: the call as a whole is partly applied, so it must
 * not be sent again, and the Subject must reload what it wrote.
 */
export async function setOneByOne(
  storage: SubjectStorage,
  props: readonly Property[],
): Promise<unknown[]> {
  const olds: unknown[] = [];
  for (const prop of props) {
    try {
      olds.push((await storage.set(prop))[1]);
    } catch (error) {
      if (olds.length === 0 || !notExecuted(error)) throw error;
      const context =
        `setMany() wrote ${olds.length} of ${props.length} properties one by one, then`;
      if (error instanceof RedisReplyError) {
        throw new RedisReplyError(error.reply, {
          command: error.command,
          context,
          executed: "maybe",
          cause: error,
        });
      }
      throw new RedisError(`${context} failed: ${String(error)}`, {
        executed: "maybe",
        cause: error,
      });
    }
  }
  return olds;
}
