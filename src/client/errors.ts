/**
 * Base class of every error this module's Redis layer raises, so callers can
 * catch all of them with one `instanceof RedisError` check.
 */
export class RedisError extends Error {
  /**
   * Creates a Redis error.
   *
   * @param message What happened, and where useful what to do about it.
   * @param options Standard error options, such as the `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisError";
  }
}

/**
 * The server answered a command with an error reply. The connection stays
 * usable: only the command that caused the reply rejects.
 *
 * @example Recognise a type error
 * ```ts ignore
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
  /** The first word of the server's reply, e.g. `WRONGTYPE`, `NOSCRIPT`, `NOPERM`. */
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
      options,
    );
    this.name = "RedisReplyError";
    const space = reply.indexOf(" ");
    this.code = space === -1 ? reply : reply.slice(0, space);
    this.command = command;
    this.reply = reply;
  }
}

/** Options of a {@linkcode RedisReplyError}. */
export interface RedisReplyErrorOptions extends ErrorOptions {
  /** The failed command's name, e.g. `HGET`; never its arguments. */
  command?: string;
  /** What was being done, e.g. `AUTH failed on redis://…`; it precedes the reply in the message. */
  context?: string;
}

/**
 * The client could not connect, or the connection dropped. Every command that
 * was waiting for a reply on a dropped connection rejects with this error,
 * since the client cannot know whether the server executed it.
 */
export class RedisConnectionError extends RedisError {
  /**
   * Creates a connection error.
   *
   * @param message What failed; it names the server by its redacted URL.
   * @param options Standard error options, such as the `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisConnectionError";
  }
}

/**
 * No reply arrived within `commandTimeoutMs`. The server may still execute the
 * command; its late reply is discarded.
 */
export class RedisTimeoutError extends RedisError {
  /**
   * Creates a timeout error.
   *
   * @param message Which command timed out and after how long.
   * @param options Standard error options, such as the `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisTimeoutError";
  }
}
