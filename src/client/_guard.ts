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
      const upper = first.toUpperCase();
      verdicts.set(
        first,
        REFUSED.has(upper) ? NO : DEPENDS.has(upper) ? MAYBE : OK,
      );
      if (verdicts.get(first) === OK) return undefined;
    }
  }
  const name =
    (typeof first === "string"
      ? first
      : first instanceof Uint8Array
      ? decoder.decode(first)
      : String(first)).toUpperCase();
  let why = REFUSED.get(name);
  let what = name;
  if (why === undefined && DEPENDS.has(name)) {
    if (name === "CLIENT") {
      if (upper(args[1]) === "REPLY") {
        what = "CLIENT REPLY";
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

function upper(arg: RedisArg | undefined): string | undefined {
  return typeof arg === "string" ? arg.toUpperCase() : undefined;
}
