/**
 * Redis Cluster key hashing: which of the 16,384 hash slots a key lives in,
 * and which argument of a command is its key. Shared by the native cluster
 * client and the node-redis cluster adapter, so both route identically.
 *
 * @module
 */

import type { RedisArg } from "./types.ts";

/** How many hash slots a Redis Cluster has. */
export const SLOT_COUNT = 16384;

/**
 * CRC16/XMODEM (polynomial 0x1021, initial value 0), one entry per byte
 * value. Built on first use, not at import: a client of one server never
 * hashes a key, and at import the loop runs interpreted, milliseconds of a
 * cold start.
 */
let table: Uint16Array | undefined;

function crcTable(): Uint16Array {
  if (table !== undefined) return table;
  table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    }
    table[i] = crc & 0xffff;
  }
  return table;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * CRC16/XMODEM of `bytes[start..end)`, the checksum Redis Cluster hashes keys
 * with.
 *
 * @param bytes The data.
 * @param start First byte to include.
 * @param end One past the last byte to include.
 * @returns The 16-bit checksum.
 */
export function crc16(
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
): number {
  const t = crcTable();
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ t[((crc >> 8) ^ bytes[i]) & 0xff];
  }
  return crc;
}

/**
 * The hash slot of a key, as Redis Cluster computes it: CRC16 of the key
 * modulo 16,384, where a non-empty `{hash tag}` (the text between the first
 * `{` and the first `}` after it) stands for the whole key, so keys sharing a
 * tag share a slot.
 *
 * @param key The key; strings are hashed as UTF-8, numbers as their decimal text.
 * @returns A slot from 0 to 16,383.
 */
export function keySlot(key: RedisArg): number {
  if (typeof key === "number") key = String(key);
  if (typeof key === "string") {
    // Most keys are ASCII: hash their char codes without encoding them.
    const ascii = asciiSlot(key);
    if (ascii !== -1) return ascii;
    key = encoder.encode(key);
  }
  let start = 0;
  let end = key.length;
  const open = key.indexOf(0x7b); // "{"
  if (open !== -1) {
    const close = key.indexOf(0x7d, open + 1); // "}"
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  return crc16(key, start, end) & (SLOT_COUNT - 1);
}

/**
 * The slot of a string whose hashed part is ASCII, or -1 otherwise. Characters
 * outside the hashed part do not matter: UTF-8 never encodes a non-ASCII
 * character with a `{` or `}` byte, so the tag sits at the same place either way.
 */
function asciiSlot(key: string): number {
  let start = 0;
  let end = key.length;
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  const t = crcTable();
  let crc = 0;
  for (let i = start; i < end; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) return -1;
    crc = ((crc << 8) & 0xffff) ^ t[((crc >> 8) ^ c) & 0xff];
  }
  return crc & (SLOT_COUNT - 1);
}

/** Commands that touch no key: a cluster may run them on any master. */
const KEYLESS = new Set([
  "ACL",
  "ASKING",
  "AUTH",
  "BGREWRITEAOF",
  "BGSAVE",
  "CLIENT",
  "CLUSTER",
  "COMMAND",
  "CONFIG",
  "DBSIZE",
  "DEBUG",
  "DISCARD",
  "ECHO",
  "EXEC",
  "FAILOVER",
  "FLUSHALL",
  "FLUSHDB",
  "FUNCTION",
  "HELLO",
  "INFO",
  "KEYS",
  "LASTSAVE",
  "LATENCY",
  "LOLWUT",
  "MODULE",
  "MONITOR",
  "MULTI",
  "PING",
  "PUBLISH",
  "PUBSUB",
  "QUIT",
  "RANDOMKEY",
  "READONLY",
  "READWRITE",
  "REPLICAOF",
  "RESET",
  "ROLE",
  "SAVE",
  "SCAN",
  "SCRIPT",
  "SELECT",
  "SHUTDOWN",
  "SLAVEOF",
  "SLOWLOG",
  "SWAPDB",
  "TIME",
  "UNWATCH",
  "WAIT",
  "WAITAOF",
]);

/** Commands whose key follows a `numkeys` argument at index 2. */
const NUMKEYS_AT_2 = new Set([
  "EVAL",
  "EVALSHA",
  "EVAL_RO",
  "EVALSHA_RO",
  "FCALL",
  "FCALL_RO",
]);

/**
 * The key a command is routed by: its first key, or `undefined` when it has
 * none (`PING`, `SCRIPT LOAD`, `EVAL` with no keys, …).
 *
 * Most commands name their key right after the command (`HGET key field`);
 * scripts and functions name it after `numkeys` (`EVALSHA sha 1 key …`);
 * `XREAD`/`XREADGROUP` after `STREAMS`; `MEMORY USAGE` and `OBJECT …` after
 * their subcommand.
 *
 * @param args A command and its arguments.
 * @returns The routing key, or `undefined` for a keyless command.
 */
export function commandKey(args: readonly RedisArg[]): RedisArg | undefined {
  const first = args[0];
  const name = typeof first === "string"
    ? first.toUpperCase()
    : first instanceof Uint8Array
    ? decoder.decode(first).toUpperCase()
    : String(first);
  if (NUMKEYS_AT_2.has(name)) {
    return Number(args[2]) > 0 ? args[3] : undefined;
  }
  if (KEYLESS.has(name)) return undefined;
  switch (name) {
    case "MEMORY":
    case "OBJECT":
      return args.length > 2 ? args[2] : undefined;
    case "XREAD":
    case "XREADGROUP": {
      const at = args.findIndex((a) =>
        typeof a === "string" && a.toUpperCase() === "STREAMS"
      );
      return at === -1 ? undefined : args[at + 1];
    }
  }
  return args[1];
}

/**
 * The hash slot a command is routed to, or -1 for a keyless command.
 *
 * @param args A command and its arguments.
 * @returns The slot of its first key, or -1.
 */
export function commandSlot(args: readonly RedisArg[]): number {
  const key = commandKey(args);
  return key === undefined ? -1 : keySlot(key);
}
