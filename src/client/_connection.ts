/**
 * One socket to a Redis server: it writes auto-pipelined commands, parses
 * replies and hands each to the command that is waiting for it. It knows
 * nothing of URLs, handshakes or reconnecting; the client owns those.
 *
 * @module
 */

import {
  RedisConnectionError,
  RedisError,
  RedisTimeoutError,
} from "./errors.ts";
import { PendingReplies } from "./_pending.ts";
import { scrubSecrets } from "./_scrub.ts";
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

/**
 * Replies handed to their callers at a time when one read brought more. Their
 * callers run before the next group is handed out, and the commands they
 * send leave at once: the server works on those while this client works on
 * the rest, where handing out a whole read first kept every reply's caller
 * in step and sent nothing until all of them had run.
 */
const SETTLE_GROUP = 64;

/** Resolves once pending microtasks, and the writes they start, have run. */
const nextTurn = (): Promise<void> =>
  new Promise((resolve) => setImmediate(resolve));

/** Settings for one connection. */
export interface ConnectionOptions {
  /** How the server is named in messages: the redacted URL. */
  label: string;
  /** Milliseconds to wait for each reply; 0 waits forever. */
  timeoutMs: number;
  /** Counters shared with the client. */
  stats: ConnectionStats;
  /**
   * Credentials to scrub from whatever the server sends before it goes into
   * an error; see `secretsOf`.
   */
  secrets: readonly string[];
  /** Called once if the socket fails or the server closes it. */
  onDrop(error: RedisConnectionError): void;
}

/** A connected socket with its pipeline of commands awaiting replies. */
export class Connection {
  readonly #conn: Deno.Conn;
  readonly #options: ConnectionOptions;
  readonly #parser = new ReplyParser();
  readonly #writer = new CommandWriter();
  readonly #pending: PendingReplies;
  /** The deadline shared by every command sent in the current tick. */
  #tickDeadline = Infinity;
  /** The scheduled reply-timeout check, if any. */
  #timer: AbortSignal | null = null;
  /** `performance.now()` when the scheduled check runs. */
  #timerAt = Infinity;
  #seen: Uint8Array | null = null;
  /** `performance.now()` of the last read that brought data. */
  #lastReadAt = performance.now();
  #writing = false;
  #flushScheduled = false;
  /**
   * Commands at the back of the queue not yet handed to the socket: if the
   * connection fails now they were certainly never executed.
   */
  #unwritten = 0;
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
  /** Replies parsed from the last read; those from `#readyHead` on are not handed out yet. */
  readonly #ready: ParsedReply[] = [];
  #readyHead = 0;
  readonly #reading: Promise<void>;
  readonly #timeoutMs: number;

  /**
   * Takes ownership of `conn` and starts reading from it.
   *
   * @param conn A connected TCP or TLS socket.
   * @param options Label, timeout, counters and drop handler.
   */
  constructor(conn: Deno.Conn, options: ConnectionOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#pending = new PendingReplies(this.scrub);
    this.#timeoutMs = options.timeoutMs;
    this.#reading = this.#readLoop();
  }

  /**
   * The start of what the peer sent first (up to 64 bytes), or `null` while
   * nothing arrived: what a peer that is not Redis said, for messages.
   */
  get seen(): Uint8Array | null {
    return this.#seen;
  }

  /**
   * Hides the connection's credentials in text from the server.
   *
   * @param text Anything the server or peer sent.
   * @returns The text with every secret replaced by `***`.
   */
  scrub = (text: string): string =>
    this.#options.secrets.length === 0
      ? text
      : scrubSecrets(text, this.#options.secrets);

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
   * @param deadline `performance.now()` by which the reply must be in, when
   * earlier than the reply timeout allows: a command that waited for this
   * connection brings what is left of its time.
   * @returns The reply; error replies reject with `RedisReplyError`.
   */
  send(args: readonly RedisArg[], deadline?: number): Promise<RedisReply> {
    const failure = this.#failure ?? this.#writeFailure;
    if (failure !== null) return Promise.reject(notSent(failure));
    try {
      this.#writer.push(args);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#unwritten++;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // One clock read per tick: every command of a tick shares its deadline.
      this.#tickDeadline = this.#timeoutMs > 0
        ? performance.now() + this.#timeoutMs
        : Infinity;
      queueMicrotask(this.#flush);
    }
    const due = deadline !== undefined && deadline < this.#tickDeadline
      ? deadline
      : this.#tickDeadline;
    const promise = this.#pending.add(args[0], due);
    this.#options.stats.commands++;
    if (due < this.#timerAt) this.#armTimer(due);
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
      while (!this.#writer.empty && this.#failure === null) {
        // From here these commands count as sent: a failure may come after
        // some of their bytes reached the server.
        this.#unwritten = 0;
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
        this.#lastReadAt = performance.now();
        this.#seen ??= buf.slice(0, Math.min(n, 64));
        this.#parser.feed(buf.subarray(0, n), this.#collect);
        // Synchronous between turns, so that a reply out of step fails the
        // connection before the callers of the replies before it run.
        while (this.#handOutGroup()) await nextTurn();
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
        // A parser error may quote the stream, which may echo a secret.
        const invalid = cause instanceof ProtocolError
          ? new ProtocolError(this.scrub(cause.message))
          : undefined;
        this.#fail(
          new RedisConnectionError(
            invalid !== undefined
              ? `The server at ${this.#options.label} sent an invalid reply (${invalid.message}); the connection was dropped.`
              : `Reading from ${this.#options.label} failed: ${message(cause)}`,
            { cause: invalid ?? cause },
          ),
          true,
        );
      }
    }
  }

  #collect = (reply: ParsedReply): void => {
    this.#ready.push(reply);
  };

  /**
   * Settles the next group of the last read's replies.
   *
   * @returns Whether replies remain for another group.
   */
  #handOutGroup(): boolean {
    const ready = this.#ready;
    const end = Math.min(this.#readyHead + SETTLE_GROUP, ready.length);
    while (this.#readyHead < end && this.#failure === null) {
      this.#onReply(ready[this.#readyHead++]);
    }
    if (this.#readyHead < ready.length && this.#failure === null) return true;
    ready.length = 0;
    this.#readyHead = 0;
    return false;
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
          `The server at ${this.#options.label} closed the connection after a protocol error (${
            this.scrub(reply.message)
          }).`,
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
  #armTimer(at: number): void {
    // AbortSignal.timeout, not setTimeout: the first setTimeout of a process
    // costs milliseconds of set-up, which a cold worker would pay before its
    // first reply. Its listener holds the process open until it fires or is
    // removed, which #fail does when the connection ends.
    this.#timer?.removeEventListener("abort", this.#onTimer);
    const timer = AbortSignal.timeout(
      Math.max(0, Math.ceil(at - performance.now())),
    );
    timer.addEventListener("abort", this.#onTimer, { once: true });
    this.#timer = timer;
    this.#timerAt = at;
  }

  #onTimer = (): void => {
    this.#timer = null;
    this.#timerAt = Infinity;
    if (this.#failure !== null) return;
    const now = performance.now();
    const waiting = this.#pending.waiting;
    const next = this.#pending.expire(
      now,
      (command) =>
        new RedisTimeoutError(
          `${command} got no reply from ${this.#options.label} within ${this.#timeoutMs} ms.`,
        ),
    );
    if (
      this.#pending.waiting < waiting && this.#pending.headExpired &&
      this.#readyHead === this.#ready.length && this.#parser.midReply
    ) {
      // The reply being read belongs to a command whose deadline passed, and
      // it is still incomplete: a huge or trickled reply holds every command
      // behind it. Only a fresh connection serves them in time.
      this.#fail(
        new RedisConnectionError(
          `A reply from ${this.#options.label} was still incomplete when its command's ${this.#timeoutMs} ms ran out; the connection was dropped, and the client reconnects.`,
        ),
        true,
      );
      return;
    }
    if (
      this.#pending.waiting < waiting &&
      now - this.#lastReadAt >= this.#timeoutMs
    ) {
      // A command timed out and nothing at all arrived meanwhile: the peer or
      // the path to it is gone (a dead NAT entry, a proxy without backend).
      // Waiting longer only times out every later command too.
      this.#fail(
        new RedisConnectionError(
          `Nothing arrived from ${this.#options.label} for ${this.#timeoutMs} ms while commands waited; the connection was presumed dead and dropped, and the client reconnects.`,
        ),
        true,
      );
      return;
    }
    if (next !== Infinity) this.#armTimer(next);
    if (this.#pending.waiting === 0) this.#notifyDrained();
  };

  #fail(error: Error, dropped: boolean): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.#timer?.removeEventListener("abort", this.#onTimer);
    this.#timer = null;
    this.#timerAt = Infinity;
    // Replies already read belong to commands that ran: they get them.
    const ready = this.#ready;
    while (this.#readyHead < ready.length) {
      this.#pending.settle(ready[this.#readyHead++]);
    }
    this.#pending.failAll(error, notSent(error), this.#unwritten);
    this.#unwritten = 0;
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

/**
 * The error for a command that never reached a socket, from the error of the
 * failure that kept it back: same message, but `executed: "no"`.
 *
 * @param error Why it was not sent.
 * @returns `error` itself when it already says "no", else a
 * `RedisConnectionError` with its message and `executed: "no"`.
 */
export function notSent(error: unknown): Error {
  if (error instanceof RedisError && error.executed === "no") return error;
  if (!(error instanceof Error)) {
    return new RedisConnectionError(String(error), { executed: "no" });
  }
  return new RedisConnectionError(error.message, {
    cause: error instanceof RedisError ? error.cause : error,
    executed: "no",
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
