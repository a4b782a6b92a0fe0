/**
 * Normalising what another client resolves with into a {@linkcode RedisReply},
 * and settling an adapted command's promise.
 *
 * @module
 */

import { RedisUnexpectedReplyError } from "../errors.ts";
import type { RedisArg, RedisReply } from "../types.ts";
import { type ForeignErrors, toRedisError } from "./_errors.ts";

const decoder = new TextDecoder();

/**
 * Settles an adapted command: its reply normalised, its error mapped.
 *
 * @param promise What the foreign client returned.
 * @param args The command, for error messages.
 * @param known How that client names its errors.
 * @returns The reply as this module's client would give it.
 */
export function settle(
  promise: Promise<unknown>,
  args: readonly RedisArg[],
  known: ForeignErrors,
): Promise<RedisReply> {
  return promise.then(
    (reply) => toReply(reply, args, known),
    (error) => {
      throw toRedisError(error, args, known);
    },
  );
}

/**
 * Converts what another client resolved with into a {@linkcode RedisReply}:
 * buffers become UTF-8 text, RESP3 maps and sets become flat arrays as RESP2
 * sends them, booleans become 1 or 0 and big numbers become numbers (or their
 * text when too big for one).
 */
function toReply(
  value: unknown,
  args: readonly RedisArg[],
  known: ForeignErrors,
): RedisReply {
  switch (typeof value) {
    case "string":
    case "number":
      return value;
    case "undefined":
      return null;
    case "boolean":
      return value ? 1 : 0;
    case "bigint":
      return Number.isSafeInteger(Number(value))
        ? Number(value)
        : value.toString();
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return decoder.decode(value);
  if (Array.isArray(value)) return value.map((v) => toReply(v, args, known));
  // An error reply nested in an array, as node-redis hands back from EXEC.
  if (value instanceof Error) throw toRedisError(value, args, known);
  if (value instanceof String) return value.valueOf();
  if (value instanceof Map) {
    const flat: RedisReply[] = [];
    for (const [k, v] of value) {
      flat.push(toReply(k, args, known), toReply(v, args, known));
    }
    return flat;
  }
  if (value instanceof Set) {
    return [...value].map((v) => toReply(v, args, known));
  }
  if (typeof value === "object") {
    const flat: RedisReply[] = [];
    for (const [k, v] of Object.entries(value)) {
      flat.push(k, toReply(v, args, known));
    }
    return flat;
  }
  throw new RedisUnexpectedReplyError(
    typeof args[0] === "string" ? args[0].toUpperCase() : "the command",
    value,
  );
}
