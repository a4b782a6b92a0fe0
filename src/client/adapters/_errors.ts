/**
 * Mapping another client's errors to this module's error classes. Each
 * adapter declares how its client names its errors; this file applies that.
 *
 * @module
 */

import {
  RedisConnectionError,
  RedisError,
  RedisReplyError,
  RedisTimeoutError,
} from "../errors.ts";
import type { RedisArg } from "../types.ts";

/** How a foreign client's errors are told apart, by class name or message. */
export interface ForeignErrors {
  /** Classes of error replies. */
  readonly reply: ReadonlySet<string>;
  /** Classes of errors that mean the connection is gone or could not be made. */
  readonly connection: ReadonlySet<string>;
  /** Classes of timeouts. */
  readonly timeout: ReadonlySet<string>;
  /** Messages of plain `Error`s that mean the connection is gone. */
  readonly connectionMessages?: ReadonlySet<string>;
  /** Messages of plain `Error`s that mean a timeout. */
  readonly timeoutMessages?: ReadonlySet<string>;
  /**
   * Classes, among the connection and timeout ones, that the client raises
   * only for a command it never sent: those map to errors with
   * `executed: "no"`, which the others cannot claim.
   */
  readonly notSent?: ReadonlySet<string>;
}

/** The names of every class in an error's prototype chain. */
function classNames(error: Error): string[] {
  const names = [error.name];
  for (
    let proto = Object.getPrototypeOf(error);
    proto !== null && proto !== Error.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = proto.constructor?.name;
    if (typeof name === "string") names.push(name);
  }
  return names;
}

/**
 * Maps another client's error to this module's error classes, keeping the
 * original as `cause`. Only an error reply proves that the command was not
 * executed; a connection loss, a timeout or an error the adapter does not
 * know becomes `executed: "maybe"`, so that nothing re-sends a write that may
 * have run. A `TypeError` or `RangeError` (bad arguments, refused before
 * sending) and anything not an `Error` pass through unchanged.
 *
 * @param error What the foreign client threw or rejected with.
 * @param args The command that failed.
 * @param known How that client names its errors.
 * @returns The mapped error, or `error` itself.
 */
export function toRedisError(
  error: unknown,
  args: readonly RedisArg[],
  known: ForeignErrors,
): unknown {
  if (!(error instanceof Error)) return error;
  const names = classNames(error);
  if (names.some((n) => known.reply.has(n))) {
    // @db/redis keeps RESP's leading "-" in the message.
    const reply = error.message.startsWith("-")
      ? error.message.slice(1)
      : error.message;
    const command = typeof args[0] === "string"
      ? args[0].toUpperCase()
      : undefined;
    return new RedisReplyError(reply, { command, cause: error });
  }
  const executed = names.some((n) => known.notSent?.has(n)) ? "no" : "maybe";
  if (
    names.some((n) => known.connection.has(n)) ||
    known.connectionMessages?.has(error.message)
  ) {
    return new RedisConnectionError(error.message, { cause: error, executed });
  }
  if (
    names.some((n) => known.timeout.has(n)) ||
    known.timeoutMessages?.has(error.message)
  ) {
    return new RedisTimeoutError(error.message, { cause: error, executed });
  }
  if (
    error instanceof RedisError || error instanceof TypeError ||
    error instanceof RangeError
  ) {
    return error;
  }
  return new RedisError(error.message, { cause: error, executed: "maybe" });
}
