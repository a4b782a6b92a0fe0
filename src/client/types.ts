/** One argument of a Redis command. Numbers are sent as their decimal text. */
export type RedisArg = string | number | Uint8Array;

/**
 * A decoded Redis reply: bulk and simple strings as UTF-8 text, integers as
 * numbers, nil as `null`, and arrays of replies. Error replies never appear
 * here: they reject the command's promise with a `RedisReplyError`.
 */
export type RedisReply = string | number | null | RedisReply[];

/**
 * The one method the storage layer needs from a Redis connection. This
 * module's own client implements it, and so do the adapters for other clients.
 *
 * @example A port over any client
 * ```ts
 * import type { RedisSender } from "@x/redis-subjects/client";
 *
 * const log: string[] = [];
 * const recording: RedisSender = {
 *   send(args) {
 *     log.push(String(args[0]));
 *     return Promise.resolve("OK");
 *   },
 * };
 * await recording.send(["PING"]);
 * ```
 */
export interface RedisSender {
  /**
   * Sends one command and resolves with its reply.
   *
   * @param args The command name followed by its arguments, e.g. `["HGET", key, field]`.
   * @returns The decoded reply; an error reply rejects with `RedisReplyError`.
   */
  send(args: readonly RedisArg[]): Promise<RedisReply>;
}
