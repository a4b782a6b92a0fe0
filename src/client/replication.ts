/**
 * Confirming that a write reached replicas: `WAIT` sent right behind the
 * write, on the same connection and in the same socket write, and the typed
 * error for a write the master applied but replicas did not confirm.
 *
 * @module
 */

import { RedisError } from "./errors.ts";
import type { RedisArg, RedisReply } from "./types.ts";

/**
 * The master applied a write, but fewer replicas than asked for confirmed it
 * within the wait timeout (`WAIT`), or the confirmation could not be read. The
 * write is not confirmed durable: if the master fails now, a promoted replica
 * may not have it. Retrying is only safe for idempotent writes.
 *
 * @example Tell an unconfirmed write from a failed one
 * ```ts
 * import {
 *   createRedisStorage,
 *   KRules,
 *   type RedisClient,
 *   ReplicationError,
 * } from "@x/redis-subjects";
 * declare const client: RedisClient;
 *
 * const storage = createRedisStorage(client, { waitReplicas: 1, waitTimeoutMs: 500 });
 * const order = new KRules({ storage }).subject("order-1");
 * try {
 *   await order.set("status", "paid", { useCache: false });
 * } catch (error) {
 *   if (error instanceof ReplicationError) {
 *     // applied on the master, but a failover could still lose it
 *   }
 * }
 * ```
 */
export class ReplicationError extends RedisError {
  /** Replicas that acknowledged the write; `undefined` when `WAIT` itself failed. */
  readonly acknowledged: number | undefined;
  /** Replicas that were asked for. */
  readonly required: number;
  /**
   * The write's own reply, which the master sent before `WAIT` failed. A
   * script may have chosen to write nothing (the storage's conditioned
   * `store()` does when a condition fails); its reply says so.
   */
  readonly reply: RedisReply | undefined;

  /**
   * Creates a replication error.
   *
   * @param command The name of the write, e.g. `HSET`; never its arguments.
   * @param required How many replicas had to acknowledge it.
   * @param acknowledged How many did, or `undefined` when `WAIT` failed.
   * @param timeoutMs How long `WAIT` waited.
   * @param options Standard error options, such as the `cause`, and the
   *   write's own reply.
   */
  constructor(
    command: string,
    required: number,
    acknowledged: number | undefined,
    timeoutMs: number,
    options?: ErrorOptions & { reply?: RedisReply },
  ) {
    super(
      `The master applied ${command}, but it is not confirmed durable: ${
        acknowledged === undefined
          ? "the WAIT that followed it failed"
          : `${acknowledged} of ${required} replica(s) acknowledged it within ${timeoutMs} ms`
      }. A failover now may lose it; check the replicas' health (INFO replication) and retry only if the write is idempotent.`,
      { ...options, executed: "yes" },
    );
    this.name = "ReplicationError";
    this.acknowledged = acknowledged;
    this.required = required;
    this.reply = options?.reply;
  }
}

/**
 * The library's private path for a write followed by `WAIT`: clients of this
 * module implement it by queuing both on one connection in the same tick, so
 * they leave in one socket write and `WAIT` counts exactly that write.
 *
 * @ignore
 */
export const sendWithWait: unique symbol = Symbol(
  "redis-subjects.sendWithWait",
);

/**
 * A client that can send a write followed by `WAIT` on one connection.
 *
 * @ignore
 */
export interface WaitingSender {
  /**
   * Sends `args`, then `WAIT replicas timeoutMs`, on the same connection.
   *
   * @ignore
   */
  [sendWithWait](
    args: readonly RedisArg[],
    replicas: number,
    timeoutMs: number,
  ): Promise<RedisReply>;
}

/**
 * Whether `client` has the private write-and-wait path.
 *
 * @ignore
 */
export function canWait(client: unknown): client is WaitingSender {
  return typeof client === "object" && client !== null &&
    typeof (client as Partial<WaitingSender>)[sendWithWait] === "function";
}

/**
 * Sends a write and `WAIT` through `send`, which must queue both on the same
 * connection in the same tick, and settles with the write's reply once
 * enough replicas acknowledged it.
 *
 * @ignore
 */
export function writeThenWait(
  send: (args: readonly RedisArg[]) => Promise<RedisReply>,
  args: readonly RedisArg[],
  replicas: number,
  timeoutMs: number,
): Promise<RedisReply> {
  const write = send(args);
  const wait = send(["WAIT", replicas, timeoutMs]);
  // A failed write makes WAIT's answer meaningless; it must not go unhandled.
  wait.catch(() => {});
  return write.then(async (reply) => {
    const command = String(args[0]).toUpperCase();
    let acknowledged: RedisReply;
    try {
      acknowledged = await wait;
    } catch (cause) {
      throw new ReplicationError(command, replicas, undefined, timeoutMs, {
        cause,
        reply,
      });
    }
    if (typeof acknowledged !== "number" || acknowledged < replicas) {
      throw new ReplicationError(
        command,
        replicas,
        typeof acknowledged === "number" ? acknowledged : undefined,
        timeoutMs,
        { reply },
      );
    }
    return reply;
  });
}
