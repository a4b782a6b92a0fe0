/**
 * One socket to a Redis server: it writes auto-pipelined commands, parses
 * replies and hands each to the command that is waiting for it. It knows
 * nothing of URLs, handshakes or reconnecting; the client owns those.
 *
 * @module
 */

import { RedisConnectionError, RedisTimeoutError } from "./errors.ts";
import { PendingReplies } from "./_pending.ts";
import {
  CommandWriter,
  ErrorReply,
  type ParsedReply,
  ProtocolError,
  ReplyParser,
} from "./resp.ts";
import type { RedisArg, RedisReply } from "./types.ts";

/** Counters a client keeps over all its connections. */
export interface ConnectionStats {
  /** Commands handed to a socket. */
  commands: number;
  /** Socket writes; with auto-pipelining far fewer than commands under load. */
  writes: number;
}

const MIN_READ = 64 * 1024;
const MAX_READ = 1024 * 1024;

/** Settings for one connection. */
export interface ConnectionOptions {
  /** How the server is named in messages: the redacted URL. */
  label: string;
  /** Milliseconds to wait for each reply; 0 waits forever. */
  timeoutMs: number;
  /** Counters shared with the client. */
  stats: ConnectionStats;
  /** Called once if the socket fails or the server closes it. */
  onDrop(error: RedisConnectionError): void;
}

/** A connected socket with its pipeline of commands awaiting replies. */
export class Connection {
  readonly #conn: Deno.Conn;
  readonly #options: ConnectionOptions;
  readonly #parser = new ReplyParser();
  readonly #writer = new CommandWriter();
  readonly #pending = new PendingReplies();
  /** The deadline shared by every command sent in the current tick. */
  #tickDeadline = Infinity;
  /** The scheduled reply-timeout check, if any. */
  #timer: AbortSignal | null = null;
  #writing = false;
  #flushScheduled = false;
  /** Set once the connection can take no more commands. */
  #failure: Error | null = null;
  /**
   * Set when a write failed. The replies the server sent before the
   * connection broke are still readable (the error reply to an oversized
   * command, say), so the reader delivers them before failing the rest.
   */
  #writeFailure: RedisConnectionError | null = null;
  #closing = false;
  #drained: (() => void) | null = null;
  readonly #reading: Promise<void>;
  #timeoutMs: number;

  /**
   * Takes ownership of `conn` and starts reading from it.
   *
   * @param conn A connected TCP or TLS socket.
   * @param options Label, timeout, counters and drop handler.
   */
  constructor(conn: Deno.Conn, options: ConnectionOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#timeoutMs = options.timeoutMs;
    this.#reading = this.#readLoop();
  }

  /**
   * Changes the reply timeout for commands sent from now on; the handshake
   * runs under the connect timeout, later commands under the command timeout.
   *
   * @param timeoutMs Milliseconds per reply; 0 waits forever.
   * @returns This connection.
   */
  withTimeout(timeoutMs: number): this {
    this.#timeoutMs = timeoutMs;
    return this;
  }

  /** Whether the connection still takes commands. */
  get usable(): boolean {
    return this.#failure === null && this.#writeFailure === null &&
      !this.#closing;
  }

  /**
   * Queues a command; it leaves with every other command queued in the same
   * tick, in one write.
   *
   * @param args The command and its arguments.
   * @returns The reply; error replies reject with `RedisReplyError`.
   */
  send(args: readonly RedisArg[]): Promise<RedisReply> {
    const failure = this.#failure ?? this.#writeFailure;
    if (failure !== null) return Promise.reject(failure);
    try {
      this.#writer.push(args);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // One clock read per tick: every command of a tick shares its deadline.
      this.#tickDeadline = this.#timeoutMs > 0
        ? performance.now() + this.#timeoutMs
        : Infinity;
      queueMicrotask(this.#flush);
    }
    const promise = this.#pending.add(args[0], this.#tickDeadline);
    this.#options.stats.commands++;
    if (this.#timer === null && this.#tickDeadline !== Infinity) {
      this.#armTimer(this.#timeoutMs);
    }
    return promise;
  }

  /**
   * Resolves once every command sent so far has its reply, timed out or
   * failed; a late reply to a timed-out command is not waited for.
   */
  drain(): Promise<void> {
    if (this.#pending.waiting === 0 || this.#failure !== null) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const previous = this.#drained;
      this.#drained = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** Closes the socket at once; commands still waiting reject. */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#fail(
        new RedisConnectionError(
          `Connection to ${this.#options.label} was closed by the client.`,
        ),
        false,
      );
    }
    await this.#reading;
  }

  #flush = async (): Promise<void> => {
    this.#flushScheduled = false;
    if (
      this.#writing || this.#failure !== null || this.#writeFailure !== null
    ) {
      return;
    }
    this.#writing = true;
    try {
      while (!this.#writer.empty) {
        const bytes = this.#writer.take();
        this.#options.stats.writes++;
        let written = 0;
        while (written < bytes.byteLength) {
          written += await this.#conn.write(
            written === 0 ? bytes : bytes.subarray(written),
          );
        }
      }
    } catch (cause) {
      // New commands get this; the reader fails the waiting ones once it has
      // read what the server sent before the connection broke.
      this.#writeFailure = new RedisConnectionError(
        `Writing to ${this.#options.label} failed: ${message(cause)}`,
        { cause },
      );
    } finally {
      this.#writing = false;
    }
  };

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(MIN_READ);
    try {
      while (true) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#parser.feed(buf.subarray(0, n), this.#onReply);
        // Big replies arrive faster with bigger reads.
        if (n === buf.byteLength && buf.byteLength < MAX_READ) {
          buf = new Uint8Array(buf.byteLength * 2);
        }
      }
      this.#fail(
        new RedisConnectionError(
          `The server at ${this.#options.label} closed the connection.`,
        ),
        true,
      );
    } catch (cause) {
      if (this.#failure === null) {
        this.#fail(
          new RedisConnectionError(
            cause instanceof ProtocolError
              ? `The server at ${this.#options.label} sent an invalid reply (${cause.message}); the connection was dropped.`
              : `Reading from ${this.#options.label} failed: ${message(cause)}`,
            { cause },
          ),
          true,
        );
      }
    }
  }

  #onReply = (reply: ParsedReply): void => {
    if (!this.#pending.settle(reply)) {
      throw new ProtocolError("a reply arrived that no command asked for");
    }
    if (this.#pending.waiting === 0) this.#notifyDrained();
    if (
      reply instanceof ErrorReply &&
      reply.message.startsWith("ERR Protocol error")
    ) {
      // Redis closes the connection after this reply. Retiring it now sends
      // the next command to a fresh connection instead of into the closing one.
      this.#fail(
        new RedisConnectionError(
          `The server at ${this.#options.label} closed the connection after a protocol error (${reply.message}).`,
        ),
        true,
      );
    }
  };

  #notifyDrained(): void {
    const drained = this.#drained;
    this.#drained = null;
    drained?.();
  }

  /**
   * One timer serves every command: deadlines grow in queue order, so only the
   * oldest command still waiting needs watching.
   */
  #armTimer(delayMs: number): void {
    // AbortSignal.timeout, not setTimeout: the first setTimeout of a process
    // costs milliseconds of set-up, which a cold worker would pay before its
    // first reply. Its listener holds the process open until it fires or is
    // removed, which #fail does when the connection ends.
    const timer = AbortSignal.timeout(Math.max(0, Math.ceil(delayMs)));
    timer.addEventListener("abort", this.#onTimer, { once: true });
    this.#timer = timer;
  }

  #onTimer = (): void => {
    this.#timer = null;
    if (this.#failure !== null) return;
    const now = performance.now();
    const next = this.#pending.expire(
      now,
      (command) =>
        new RedisTimeoutError(
          `${command} got no reply from ${this.#options.label} within ${this.#timeoutMs} ms.`,
        ),
    );
    if (next !== Infinity) this.#armTimer(next - now);
    if (this.#pending.waiting === 0) this.#notifyDrained();
  };

  #fail(error: Error, dropped: boolean): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.#timer?.removeEventListener("abort", this.#onTimer);
    this.#timer = null;
    this.#pending.failAll(error);
    this.#notifyDrained();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
    if (dropped && !this.#closing) {
      this.#options.onDrop(error as RedisConnectionError);
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
