/**
 * The commands `send()` refuses on a shared connection: those that change
 * the connection's state for every other caller, or block its pipeline.
 *
 * @module
 */

import type { RedisArg } from "./types.ts";

/** Why each refused command is refused, by upper-case name. */
const REFUSED = new Map<string, string>();
for (
  const name of [
    "MULTI",
    "EXEC",
    "DISCARD",
    "WATCH",
    "UNWATCH",
    "SELECT",
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "UNSUBSCRIBE",
    "PUNSUBSCRIBE",
    "SUNSUBSCRIBE",
    "MONITOR",
    "RESET",
    "QUIT",
    "HELLO",
    "AUTH",
    "SYNC",
    "PSYNC",
    // The server becomes a replica (or stops being one), and SYNC/PSYNC turn
    // the connection into a replication stream.
    "REPLICAOF",
    "SLAVEOF",
  ]
) {
  REFUSED.set(
    name,
    "would change the state of the connection every caller of this client shares",
  );
}
for (
  const name of [
    "BLPOP",
    "BRPOP",
    "BRPOPLPUSH",
    "BLMOVE",
    "BLMPOP",
    "BZPOPMIN",
    "BZPOPMAX",
    "BZMPOP",
    "WAIT",
    "WAITAOF",
  ]
) {
  REFUSED.set(
    name,
    "would block the connection every caller of this client shares",
  );
}

/** Commands refused only with some arguments. */
const DEPENDS = new Set(["CLIENT", "XREAD", "XREADGROUP"]);

const OK = 0;
const NO = 1;
const MAYBE = 2;
/** Verdicts by the name as given, so the common case is one map lookup. */
const verdicts = new Map<string, number>();
const MAX_CACHED = 512;

const decoder = new TextDecoder();

/**
 * The error for a command a shared connection must not carry, or `undefined`
 * when it may.
 *
 * @param args The command and its arguments.
 * @returns A `TypeError` naming the command and the fix, or `undefined`.
 */
export function refusal(args: readonly RedisArg[]): TypeError | undefined {
  const first = args[0];
  if (typeof first === "string") {
    const known = verdicts.get(first);
    if (known === OK) return undefined;
    if (known === undefined && verdicts.size < MAX_CACHED) {
      const named = first.toUpperCase();
      verdicts.set(
        first,
        REFUSED.has(named) ? NO : DEPENDS.has(named) ? MAYBE : OK,
      );
      if (verdicts.get(first) === OK) return undefined;
    }
  }
  const name = upper(first) ?? "";
  let why = REFUSED.get(name);
  let what = name;
  if (why === undefined && DEPENDS.has(name)) {
    if (name === "CLIENT") {
      const sub = upper(args[1]);
      // REPLY OFF/SKIP puts every later reply out of step; TRACKING makes the
      // server push invalidations into the shared stream.
      if (sub === "REPLY" || sub === "TRACKING") {
        what = `CLIENT ${sub}`;
        why =
          "would change the state of the connection every caller of this client shares";
      }
    } else if (blocks(args)) {
      what = `${name} BLOCK`;
      why = "would block the connection every caller of this client shares";
    }
  }
  if (why === undefined) return undefined;
  return new TypeError(
    `${what} ${why}, so send() refuses it; nothing was sent. ` +
      "Send it on a dedicated connection: `const own = await client.duplicate()`, then `own.send([...])` and `own.close()`" +
      (name === "SELECT"
        ? ", or choose the database in the URL (redis://host:6379/2)."
        : "."),
  );
}

/** Whether an XREAD or XREADGROUP has BLOCK among its options, before STREAMS. */
function blocks(args: readonly RedisArg[]): boolean {
  for (let i = 1; i < args.length; i++) {
    const arg = upper(args[i]);
    if (arg === "STREAMS") return false;
    if (arg === "BLOCK") return true;
  }
  return false;
}

/** Longer arguments cannot be a command, subcommand or option name. */
const LONGEST_WORD = 32;

/**
 * A command, subcommand or option name as the server reads it: from a string,
 * bytes or a number, in any letter case. `undefined` for an argument too
 * long to be one, which is then not decoded.
 */
function upper(arg: RedisArg | undefined): string | undefined {
  if (typeof arg === "string") {
    return arg.length > LONGEST_WORD ? undefined : arg.toUpperCase();
  }
  if (arg instanceof Uint8Array) {
    return arg.byteLength > LONGEST_WORD
      ? undefined
      : decoder.decode(arg).toUpperCase();
  }
  return typeof arg === "number" ? String(arg) : undefined;
}
