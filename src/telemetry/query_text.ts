/**
 * The `db.query.text` of a command, which users opt into: the command with
 * its keys and hash field names, every value replaced by `?`.
 *
 * @module
 */

/** How a command's arguments after its name are laid out. */
type Shape =
  /** A key, then field names (`HGET key field`). */
  | "key-fields"
  /** A key, then field/value pairs (`HSET key field value`). */
  | "key-field-values"
  /** A key, one field, then values (`HINCRBY key field 1`). */
  | "key-field-value"
  /** Keys only (`DEL a b`). */
  | "keys"
  /** One key, then values (`GET key`, `EXPIRE key 10`). */
  | "key"
  /** A script or function, `numkeys`, the keys, then values. */
  | "script";

const SHAPES: ReadonlyMap<string, Shape> = new Map<string, Shape>([
  ...["HGET", "HMGET", "HDEL", "HEXISTS", "HSTRLEN"].map((c) =>
    [c, "key-fields"] as const
  ),
  ...["HSET", "HMSET"].map((c) => [c, "key-field-values"] as const),
  ...["HINCRBY", "HINCRBYFLOAT", "HSETNX"].map((c) =>
    [c, "key-field-value"] as const
  ),
  ...["DEL", "UNLINK", "EXISTS", "MGET", "TOUCH"].map((c) =>
    [c, "keys"] as const
  ),
  ...[
    "GET",
    "SET",
    "SETEX",
    "PSETEX",
    "SETNX",
    "GETDEL",
    "INCR",
    "INCRBY",
    "DECR",
    "DECRBY",
    "HGETALL",
    "HKEYS",
    "HVALS",
    "HLEN",
    "HSCAN",
    "TYPE",
    "TTL",
    "PTTL",
    "EXPIRE",
    "PEXPIRE",
    "PERSIST",
    "STRLEN",
  ].map((c) => [c, "key"] as const),
]);

/** Scripts and functions: `EVAL`, `EVALSHA`, `FCALL` and their `_RO` forms. */
const SCRIPT = /^(?:EVAL|EVALSHA|FCALL)(?:_RO)?$/;

/** Beyond this many arguments the text ends in `…`, to keep spans small. */
const MAX_ARGS = 64;

/**
 * The query text of a command: its name, then its keys and hash field
 * names, and `?` for every value, script body and binary argument. A command
 * this table does not know shows only `?` after its name, so an argument
 * that might be a secret (`AUTH`, `CONFIG SET`, `ACL SETUSER`) never shows.
 *
 * @param args The command and its arguments.
 * @returns E.g. `HSET s:app:user-1 pname ?`.
 */
export function queryText(args: readonly unknown[]): string {
  const name = String(args[0]).toUpperCase();
  const shape = SCRIPT.test(name) ? "script" : SHAPES.get(name);
  const parts = [name];
  const count = Math.min(args.length, MAX_ARGS + 1);
  let shown = (_i: number): boolean => false;
  switch (shape) {
    case "key-fields":
    case "keys":
      shown = () => true;
      break;
    case "key-field-values":
      shown = (i) => i === 1 || i % 2 === 0;
      break;
    case "key-field-value":
      shown = (i) => i <= 2;
      break;
    case "key":
      shown = (i) => i === 1;
      break;
    case "script": {
      const keys = Number(args[2]);
      // The body of EVAL is code that may embed values; a digest or a
      // function name does not.
      shown = (i) =>
        (i === 1 && !name.startsWith("EVAL_") && name !== "EVAL") ||
        i === 2 || (i > 2 && i <= 2 + keys);
      break;
    }
  }
  for (let i = 1; i < count; i++) {
    const arg = args[i];
    const plain = typeof arg === "string" || typeof arg === "number";
    parts.push(shown(i) && plain ? String(arg) : "?");
  }
  if (args.length > count) parts.push("…");
  return parts.join(" ");
}
