/**
 * RESP2, the Redis wire protocol: an encoder for commands and a streaming
 * parser for replies. It knows nothing of connections or commands.
 *
 * @module
 */

import type { RedisArg, RedisReply } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const CR = 13;
const LF = 10;

/**
 * The number of bytes `s` takes in UTF-8, counted without encoding it. A lone
 * surrogate counts three bytes, as `TextEncoder` writes it as U+FFFD.
 */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (
      c >= 0xd800 && c <= 0xdbff && i + 1 < s.length &&
      (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      // A surrogate pair: two UTF-16 units, four UTF-8 bytes.
      n += 2;
      i++;
    } else {
      n += 2;
    }
  }
  return n;
}

/**
 * Collects encoded commands until they are written, straight into a byte
 * buffer: ASCII text is copied a character at a time, which for the short
 * keys and fields of typical commands beats building strings and encoding
 * them, and leaves the garbage collector almost nothing to do.
 *
 * Two buffers take turns: `take()` hands one out for writing and fills the
 * other, so the caller must finish writing a batch before taking the next.
 */
export class CommandWriter {
  #buf = new Uint8Array(INITIAL_BUFFER);
  #spare = new Uint8Array(INITIAL_BUFFER);
  #len = 0;

  /** Whether nothing is waiting to be written. */
  get empty(): boolean {
    return this.#len === 0;
  }

  /**
   * Appends one command in RESP array-of-bulk-strings form.
   *
   * @throws {TypeError} when an argument is not a string, finite number or
   * bytes; nothing of the command is appended then.
   */
  push(args: readonly RedisArg[]): void {
    if (args.length === 0) {
      throw new TypeError("A Redis command needs at least its name.");
    }
    // Check every argument first: a command must go out whole or not at all.
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (typeof arg === "string" || arg instanceof Uint8Array) continue;
      if (typeof arg === "number") {
        if (Number.isFinite(arg)) continue;
        throw new TypeError(
          `Redis argument ${i} is ${arg}; numbers must be finite.`,
        );
      }
      throw new TypeError(
        `Redis argument ${i} is of type ${typeof arg}; use a string, number or Uint8Array.`,
      );
    }
    this.#header(0x2a, args.length);
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (typeof arg === "string") {
        this.#string(arg);
      } else if (typeof arg === "number") {
        this.#string(String(arg));
      } else {
        const bytes = arg as Uint8Array;
        this.#header(0x24, bytes.byteLength);
        this.#reserve(bytes.byteLength + 2);
        this.#buf.set(bytes, this.#len);
        this.#len += bytes.byteLength;
        this.#buf[this.#len++] = CR;
        this.#buf[this.#len++] = LF;
      }
    }
  }

  /**
   * Returns everything collected so far and starts over in the other buffer.
   * The bytes stay valid until the next call.
   */
  take(): Uint8Array {
    const out = this.#buf.subarray(0, this.#len);
    // A huge command must not pin its memory for the connection's lifetime.
    const next = this.#spare.byteLength > MAX_KEPT_BUFFER
      ? new Uint8Array(INITIAL_BUFFER)
      : this.#spare;
    this.#spare = this.#buf;
    this.#buf = next;
    this.#len = 0;
    return out;
  }

  #reserve(n: number): void {
    const need = this.#len + n;
    if (need <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(0, this.#len));
    this.#buf = grown;
  }

  /** Writes `*n\r\n` or `$n\r\n`. */
  #header(type: number, n: number): void {
    this.#reserve(24);
    const buf = this.#buf;
    let at = this.#len;
    buf[at++] = type;
    if (n < 10) {
      buf[at++] = 0x30 + n;
    } else {
      const digits = String(n);
      for (let i = 0; i < digits.length; i++) {
        buf[at++] = digits.charCodeAt(i);
      }
    }
    buf[at++] = CR;
    buf[at++] = LF;
    this.#len = at;
  }

  #string(s: string): void {
    const length = s.length;
    if (length <= SHORT_STRING) {
      // Copy ASCII directly; fall back to counting and encoding on the first
      // non-ASCII character.
      this.#reserve(length * 3 + 32);
      const buf = this.#buf;
      const start = this.#len;
      this.#header(0x24, length);
      let at = this.#len;
      let i = 0;
      for (; i < length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at++] = c;
      }
      if (i === length) {
        buf[at++] = CR;
        buf[at++] = LF;
        this.#len = at;
        return;
      }
      this.#len = start;
    }
    const bytes = utf8Length(s);
    this.#header(0x24, bytes);
    this.#reserve(bytes + 2);
    const written =
      encoder.encodeInto(s, this.#buf.subarray(this.#len)).written;
    this.#len += written;
    this.#buf[this.#len++] = CR;
    this.#buf[this.#len++] = LF;
  }
}

const INITIAL_BUFFER = 16 * 1024;
const MAX_KEPT_BUFFER = 4 * 1024 * 1024;
const SHORT_STRING = 128;

/**
 * Encodes one command as RESP bytes.
 *
 * @param args The command name and its arguments.
 * @returns The bytes to send.
 */
export function encodeCommand(args: readonly RedisArg[]): Uint8Array {
  const writer = new CommandWriter();
  writer.push(args);
  return writer.take();
}

/**
 * An error reply as the parser hands it on. It is not an `Error`, so that a
 * parser never builds stack traces; the connection turns it into a
 * `RedisReplyError` for the command it belongs to.
 */
export class ErrorReply {
  /**
   * @param message The error text after the leading `-`.
   */
  constructor(readonly message: string) {}
}

/** A complete top-level reply, or the error reply that answers a command. */
export type ParsedReply = RedisReply | ErrorReply;

/** A RESP frame the parser cannot make sense of: the stream is unusable. */
export class ProtocolError extends Error {
  /**
   * @param message What was wrong with the stream.
   */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

interface Frame {
  items: RedisReply[];
  remaining: number;
  /** The first error reply among the items, which becomes the whole reply. */
  error: ErrorReply | null;
}

/** Redis strings hold at most 512 MiB; a longer length is a corrupt stream. */
const MAX_BULK = 512 * 1024 * 1024;

/**
 * First buffer for a bulk string that arrives in pieces; it doubles as the
 * bytes come, so a reply holds at most about twice what the server has sent.
 */
const MIN_BULK_BUFFER = 64 * 1024;

/**
 * Deepest nesting of arrays the parser accepts. Redis's own replies nest a
 * handful of levels (COMMAND DOCS, XINFO STREAM FULL: under 10); a Lua table
 * a script returns may nest deeper, but nothing real comes near 128. Each
 * level costs an object and an array for 4 bytes of input (`*1\r\n`), so an
 * unbounded depth lets a hostile peer turn megabytes into gigabytes.
 */
const MAX_DEPTH = 128;

/**
 * Longest line (a status, an error, or a length) the parser accepts. Real
 * ones are short; a longer one is a corrupt or hostile stream, refused before
 * it can take more memory.
 */
const MAX_LINE = 1024 * 1024;

/**
 * Decodes a stream of RESP2 replies fed in chunks of any size. State survives
 * between chunks: a reply may be split at any byte, and one chunk may hold
 * many replies. The parser never keeps a reference to a chunk after `feed`
 * returns, so the caller may reuse its read buffer.
 *
 * An error reply nested in an array (as in `EXEC`) makes the whole reply the
 * error, since `RedisReply` has no place for errors.
 */
export class ReplyParser {
  /** Leftover bytes of an incomplete line from the previous chunk. */
  #line: Uint8Array | null = null;
  /** Arrays under construction, innermost last. */
  #stack: Frame[] = [];
  /**
   * The bulk string being read: a buffer that grows as its bytes arrive, its
   * declared length, and how many bytes of it (CRLF included) have arrived.
   */
  #bulk: Uint8Array | null = null;
  #bulkLen = 0;
  #bulkHave = 0;

  /** Whether part of a reply has arrived and the rest has not. */
  get midReply(): boolean {
    return this.#bulk !== null || this.#stack.length > 0 ||
      this.#line !== null;
  }

  /** Makes the bulk buffer hold `size` bytes, at least doubling it, at most its declared length. */
  #grow(size: number): void {
    const bulk = this.#bulk!;
    if (size <= bulk.byteLength) return;
    const grown = new Uint8Array(
      Math.min(this.#bulkLen, Math.max(size, bulk.byteLength * 2)),
    );
    grown.set(bulk.subarray(0, this.#bulkHave));
    this.#bulk = grown;
  }

  /**
   * Parses as much of `chunk` as possible, calling `onReply` once for every
   * complete top-level reply, in order.
   *
   * @throws {ProtocolError} when the stream is not valid RESP2.
   */
  feed(chunk: Uint8Array, onReply: (reply: ParsedReply) => void): void {
    let buf = chunk;
    let pos = 0;
    if (this.#line !== null) {
      const joined = new Uint8Array(this.#line.byteLength + chunk.byteLength);
      joined.set(this.#line);
      joined.set(chunk, this.#line.byteLength);
      this.#line = null;
      buf = joined;
    }
    const end = buf.byteLength;
    while (pos < end) {
      let value: ParsedReply;
      if (this.#bulk !== null) {
        // Continue a bulk string: its body, then its CRLF.
        const len = this.#bulkLen;
        const need = len + 2 - this.#bulkHave;
        const take = Math.min(need, end - pos);
        const body = Math.min(take, len - this.#bulkHave);
        if (body > 0) {
          this.#grow(this.#bulkHave + body);
          this.#bulk.set(buf.subarray(pos, pos + body), this.#bulkHave);
        }
        this.#bulkHave += take;
        pos += take;
        if (take < need) return;
        const bulk = this.#bulk;
        this.#bulk = null;
        value = decoder.decode(bulk.subarray(0, len));
      } else {
        const lineEnd = findCRLF(buf, pos, end);
        if ((lineEnd === -1 ? end : lineEnd) - pos > MAX_LINE) {
          throw new ProtocolError("a reply line is longer than 1 MiB");
        }
        if (lineEnd === -1) {
          this.#line = buf.slice(pos, end);
          return;
        }
        const type = buf[pos];
        const start = pos + 1;
        pos = lineEnd + 2;
        switch (type) {
          case 0x2b: // '+' simple string
            value = decodeText(buf, start, lineEnd);
            break;
          case 0x2d: // '-' error
            value = new ErrorReply(decodeText(buf, start, lineEnd));
            break;
          case 0x3a: // ':' integer
            value = parseInteger(buf, start, lineEnd);
            break;
          case 0x24: { // '$' bulk string
            const len = parseInteger(buf, start, lineEnd);
            if (len === -1) {
              value = null;
              break;
            }
            if (len < 0 || len > MAX_BULK) {
              throw new ProtocolError(`bad bulk length ${len}`);
            }
            if (end - pos >= len + 2) {
              if (buf[pos + len] !== CR || buf[pos + len + 1] !== LF) {
                throw new ProtocolError("bulk string not followed by CRLF");
              }
              value = decodeText(buf, pos, pos + len);
              pos += len + 2;
            } else {
              // Allocate for what arrived, not for what the header claims:
              // a hostile length costs only the bytes actually sent.
              this.#bulk = new Uint8Array(
                Math.min(len, Math.max(MIN_BULK_BUFFER, end - pos)),
              );
              this.#bulkLen = len;
              this.#bulkHave = 0;
              continue;
            }
            break;
          }
          case 0x2a: { // '*' array
            const len = parseInteger(buf, start, lineEnd);
            if (len === -1) {
              value = null;
              break;
            }
            if (len < 0) throw new ProtocolError(`bad array length ${len}`);
            if (len > 0) {
              if (this.#stack.length >= MAX_DEPTH) {
                throw new ProtocolError(
                  `a reply is nested deeper than ${MAX_DEPTH} levels`,
                );
              }
              this.#stack.push({ items: [], remaining: len, error: null });
              continue;
            }
            value = [];
            break;
          }
          default:
            throw new ProtocolError(
              `unexpected reply type byte 0x${(type ?? 0).toString(16)}`,
            );
        }
      }
      // Hand the value to the innermost open array, closing every array it completes.
      while (true) {
        const frame = this.#stack[this.#stack.length - 1];
        if (frame === undefined) {
          onReply(value);
          break;
        }
        if (value instanceof ErrorReply) frame.error ??= value;
        else frame.items.push(value);
        if (--frame.remaining > 0) break;
        this.#stack.pop();
        value = frame.error ?? frame.items;
      }
    }
  }
}

function findCRLF(buf: Uint8Array, from: number, end: number): number {
  let i = buf.indexOf(CR, from);
  while (i !== -1 && i + 1 < end) {
    if (buf[i + 1] === LF) return i;
    i = buf.indexOf(CR, i + 1);
  }
  return -1;
}

function parseInteger(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (buf[i] === 0x2d) {
    negative = true;
    i++;
  }
  if (i >= end) throw new ProtocolError("empty integer in reply");
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) {
      throw new ProtocolError(
        `bad integer ${JSON.stringify(decodeText(buf, start, end))} in reply`,
      );
    }
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/** Short ASCII text is built directly: much cheaper than a TextDecoder call. */
function decodeText(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 16) {
    let s = "";
    for (let i = start; i < end; i++) {
      const b = buf[i];
      if (b >= 0x80) return decoder.decode(buf.subarray(start, end));
      s += String.fromCharCode(b);
    }
    return s;
  }
  return decoder.decode(buf.subarray(start, end));
}
