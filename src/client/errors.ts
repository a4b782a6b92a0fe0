/**
 * What the client knows of whether the server executed a command that failed:
 *
 * - `"no"`: certainly not executed (refused before it was sent, or the server
 *   answered it with an error reply). Sending it again is safe.
 * - `"maybe"`: it was written to the server, then the connection dropped or
 *   the deadline passed before the reply. It may have been applied.
 * - `"yes"`: the server applied it, but something after it failed (for
 *   example `WAIT` did not confirm it on enough replicas).
 *
 * Only `"no"` makes a blind retry safe; this module never re-sends the others.
 */
export type Execution = "no" | "maybe" | "yes";

/** Options of a {@linkcode RedisError}. */
export interface RedisErrorOptions extends ErrorOptions {
  /**
   * Whether the failed command was executed.
   *
   * @default {"maybe"} for a connection or timeout error, `"no"` for a reply error
   */
  executed?: Execution;
}

/**
 * Base class of every error this module's Redis layer raises, so callers can
 * catch all of them with one `instanceof RedisError` check.
 *
 * @example Retry only what the server certainly did not execute
 * ```ts
 * import { RedisError } from "@x/redis-subjects";
 *
 * function safeToRetry(error: unknown): boolean {
 *   return error instanceof RedisError && error.executed === "no";
 * }
 * ```
 */
export class RedisError extends Error {
  /**
   * Whether the failed command was executed: `"no"` (safe to send again),
   * `"maybe"` (sent, then the connection or the deadline failed) or `"yes"`
   * (applied, then a later step such as `WAIT` failed).
   */
  readonly executed: Execution;

  /**
   * Creates a Redis error.
   *
   * @param message What happened, and where useful what to do about it.
   * @param options Standard error options, such as the `cause`, and whether
   * the command was executed (default `"maybe"`).
   */
  constructor(message: string, options?: RedisErrorOptions) {
    super(message, options);
    this.name = "RedisError";
    this.executed = options?.executed ?? "maybe";
  }
}

/**
 * Whether `error` proves that the command it reports was not executed, so it
 * may be sent again. Errors that are not a {@linkcode RedisError} (bad input,
 * refused before anything was sent) count as not executed.
 *
 * @param error What a call rejected with.
 * @returns `false` when the server executed the command or may have.
 */
export function notExecuted(error: unknown): boolean {
  return !(error instanceof RedisError) || error.executed === "no";
}

/**
 * The server answered a command with an error reply. The connection stays
 * usable: only the command that caused the reply rejects.
 *
 * @example Recognise a type error
 * ```ts
 * import { type RedisClient, RedisReplyError } from "@x/redis-subjects";
 * declare const client: RedisClient;
 *
 * try {
 *   await client.send(["HGET", "a-string-key", "field"]);
 * } catch (error) {
 *   if (error instanceof RedisReplyError && error.code === "WRONGTYPE") {
 *     // the key holds something other than a hash
 *   }
 * }
 * ```
 */
export class RedisReplyError extends RedisError {
  /**
   * The first word of the server's reply, e.g. `WRONGTYPE`, `NOSCRIPT`,
   * `NOPERM`; also `NOPERM` for a script's ACL refusal, which Redis 7.0
   * words as `ERR The user executing the script can't …` (see `reply`).
   */
  readonly code: string;
  /** The name of the command that failed, e.g. `HGET`; never its arguments. */
  readonly command: string | undefined;
  /**
   * The error reply as the server sent it, without the leading `-`, e.g.
   * `MOVED 3999 127.0.0.1:6381`. Read this, not `message`, to act on a reply.
   */
  readonly reply: string;

  /**
   * Creates a reply error from the server's error text.
   *
   * @param reply The error reply as sent by the server, without the leading `-`.
   * @param options The failed command's name, what was being done (put before
   * the reply in the message) and the standard error options.
   */
  constructor(reply: string, options?: RedisReplyErrorOptions) {
    const command = options?.command;
    const context = options?.context;
    const text = context === undefined ? reply : `${context}: ${reply}`;
    super(
      command === undefined ? text : `${text} (command: ${command})`,
      { ...options, executed: options?.executed ?? "no" },
    );
    this.name = "RedisReplyError";
    this.code = replyCode(reply);
    this.command = command;
    this.reply = reply;
  }
}

/**
 * Redis 7.0 reports an ACL refusal inside a script (a command or a key the
 * user may not use) as `ERR`, where the same refusal outside a script is
 * `NOPERM`; later versions say `NOPERM` for both. Callers look for one code.
 */
const SCRIPT_ACL_REFUSAL =
  /^ERR The user executing the script can't (?:run|access) /;

/** The first word of an error reply, with a script's ACL refusal as `NOPERM`. */
function replyCode(reply: string): string {
  if (SCRIPT_ACL_REFUSAL.test(reply)) return "NOPERM";
  const space = reply.indexOf(" ");
  return space === -1 ? reply : reply.slice(0, space);
}

/** Options of a {@linkcode RedisReplyError}. */
export interface RedisReplyErrorOptions extends RedisErrorOptions {
  /** The failed command's name, e.g. `HGET`; never its arguments. */
  command?: string;
  /** What was being done, e.g. `AUTH failed on redis://…`; it precedes the reply in the message. */
  context?: string;
}

/**
 * The client could not connect, or the connection dropped. Every command that
 * was waiting for a reply on a dropped connection rejects with this error;
 * its `executed` says whether the command had been written (`"maybe"`) or
 * never left the client (`"no"`).
 */
export class RedisConnectionError extends RedisError {
  /**
   * Creates a connection error.
   *
   * @param message What failed; it names the server by its redacted URL.
   * @param options Standard error options, such as the `cause`, and whether
   * the command was executed.
   */
  constructor(message: string, options?: RedisErrorOptions) {
    super(message, options);
    this.name = "RedisConnectionError";
  }
}

/**
 * No reply arrived within `commandTimeoutMs`. When the command was written
 * (`executed` is `"maybe"`) the server may still execute it and its late reply
 * is discarded; a command that was held and never sent has `executed: "no"`.
 */
export class RedisTimeoutError extends RedisError {
  /**
   * Creates a timeout error.
   *
   * @param message Which command timed out and after how long.
   * @param options Standard error options, such as the `cause`, and whether
   * the command was executed.
   */
  constructor(message: string, options?: RedisErrorOptions) {
    super(message, options);
    this.name = "RedisTimeoutError";
  }
}

/**
 * A reply the protocol or this module did not expect: a script, a command
 * or a foreign client answered with something of another shape than Redis
 * sends (a proxy that rewrites replies, a script of the same name changed by
 * hand, a server too old for the command). The command ran, but what it did
 * is not known from its answer, so `executed` is `"maybe"` and it is not sent
 * again.
 *
 * @example Tell a misbehaving peer from a refused command
 * ```ts
 * import { RedisUnexpectedReplyError } from "@x/redis-subjects";
 *
 * function describe(error: unknown): string {
 *   return error instanceof RedisUnexpectedReplyError
 *     ? `${error.command} answered oddly; is something between us and Redis?`
 *     : String(error);
 * }
 * ```
 */
export class RedisUnexpectedReplyError extends RedisError {
  /** What answered, e.g. `PTTL` or `the store script`; never its arguments. */
  readonly command: string;
  /** The reply as it came, e.g. a string where a number was due. */
  readonly reply: unknown;

  /**
   * Creates an unexpected-reply error.
   *
   * @param command What answered: a command's name or a script's.
   * @param reply The reply as it came.
   * @param options Standard error options, and whether the command was
   * executed (default `"maybe"`).
   */
  constructor(command: string, reply: unknown, options?: RedisErrorOptions) {
    super(`Unexpected reply to ${command}: ${shown(reply)}`, options);
    this.name = "RedisUnexpectedReplyError";
    this.command = command;
    this.reply = reply;
  }
}

/** A reply as JSON text, or its type when JSON cannot show it. */
function shown(reply: unknown): string {
  try {
    const text = JSON.stringify(reply);
    if (text !== undefined) return text;
  } catch {
    // A bigint or a cycle: its type says enough.
  }
  return `a ${typeof reply}`;
}
