/**
 * Arguments for the Node.js clients (node-redis, ioredis), which take only
 * strings and Node `Buffer`s.
 *
 * @module
 */

import type { RedisArg, RedisReply } from "../types.ts";
import type { ForeignErrors } from "./_errors.ts";
import { settle } from "./_reply.ts";

interface BufferConstructorLike {
  from(buffer: ArrayBufferLike, offset: number, length: number): Uint8Array;
  isBuffer(value: unknown): boolean;
}

/**
 * Node's `Buffer`, which both node-redis and ioredis require for binary
 * arguments (a plain `Uint8Array` is rejected, or sent as "1,2,3"). It is
 * global wherever those clients run (Node, Bun, Deno 2), so it is looked up
 * rather than imported.
 */
function nodeBuffer(): BufferConstructorLike {
  const found = (globalThis as { Buffer?: BufferConstructorLike }).Buffer;
  if (found === undefined) {
    throw new TypeError(
      "Binary arguments need Node's Buffer, which this runtime lacks.",
    );
  }
  return found;
}

/**
 * One argument as a Node client takes it: numbers as decimal text, bytes as
 * a `Buffer` view (not a copy).
 *
 * @param arg The argument.
 * @returns A string or a `Buffer`.
 * @throws {TypeError} when the argument is not a string, finite number or bytes.
 */
export function nodeArg(arg: RedisArg): string | Uint8Array {
  if (typeof arg === "string") return arg;
  if (typeof arg === "number") {
    if (!Number.isFinite(arg)) {
      throw new TypeError(`Redis argument is ${arg}; numbers must be finite.`);
    }
    return String(arg);
  }
  if (arg instanceof Uint8Array) {
    const Buffer = nodeBuffer();
    return Buffer.isBuffer(arg)
      ? arg
      : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
  }
  throw new TypeError(
    `Redis argument is ${
      arg === null ? "null" : typeof arg
    }; use a string, a finite number or a Uint8Array.`,
  );
}

function nodeArgs(args: readonly RedisArg[]): Array<string | Uint8Array> {
  if (args.length === 0) {
    throw new TypeError("A Redis command needs at least its name.");
  }
  const out = new Array<string | Uint8Array>(args.length);
  for (let i = 0; i < args.length; i++) out[i] = nodeArg(args[i]);
  return out;
}

/**
 * Converts `args` for a Node.js client and sends them with `send`. A bad
 * argument rejects before anything is sent, as with this module's client, and
 * a client that throws instead of rejecting still yields a rejection, mapped
 * like any other.
 *
 * @param args The command.
 * @param send Sends the converted command.
 * @param known How the client names its errors.
 * @returns The normalised reply.
 */
export function sendConverted(
  args: readonly RedisArg[],
  send: (strings: Array<string | Uint8Array>) => Promise<unknown>,
  known: ForeignErrors,
): Promise<RedisReply> {
  let sent: Promise<unknown>;
  try {
    sent = send(nodeArgs(args));
  } catch (error) {
    sent = Promise.reject(error);
  }
  return settle(sent, args, known);
}
