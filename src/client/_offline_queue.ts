/**
 * The commands sent while a client has no connection: they wait, oldest
 * first, for the next one, each until its own deadline. None of them has
 * reached a socket, so whatever ends their wait says they were not executed.
 *
 * @module
 */

import { type Connection, notSent } from "./_connection.ts";
import type { RedisArg, RedisReply } from "./types.ts";

/** A command waiting for a connection. */
interface Waiting {
  readonly args: readonly RedisArg[];
  /** `performance.now()` by which it must settle; `Infinity` for never. */
  readonly deadline: number;
  readonly resolve: (reply: RedisReply) => void;
  readonly reject: (error: Error) => void;
}

/** The commands of one client waiting for a connection, oldest first. */
export class OfflineQueue {
  #waiting: Waiting[] = [];
  /** Fires when the oldest waiting command's deadline passes. */
  #timer: AbortSignal | null = null;
  /** The error of the commands whose deadline passed while they waited. */
  readonly #expired: () => Error;

  /**
   * @param expired Makes the error of the commands whose deadline passed
   * before a connection came up.
   */
  constructor(expired: () => Error) {
    this.#expired = expired;
  }

  /** How many commands wait. */
  get length(): number {
    return this.#waiting.length;
  }

  /**
   * Queues a command until {@linkcode OfflineQueue.handTo} or
   * {@linkcode OfflineQueue.failAll}, or its deadline.
   *
   * @param args The command.
   * @param deadline `performance.now()` by which it must settle, or `Infinity`.
   * @returns Its reply, once a connection has carried it.
   */
  add(args: readonly RedisArg[], deadline: number): Promise<RedisReply> {
    const { promise, resolve, reject } = Promise.withResolvers<RedisReply>();
    this.#waiting.push({ args, deadline, resolve, reject });
    if (this.#waiting.length === 1 && deadline !== Infinity) {
      this.#arm(deadline);
    }
    return promise;
  }

  /**
   * Hands every waiting command to a new connection, in the order they were
   * sent; each keeps its own deadline.
   *
   * @param conn The connection that just came up.
   */
  handTo(conn: Connection): void {
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    this.#stop();
    for (const entry of waiting) {
      conn.send(entry.args, entry.deadline).then(entry.resolve, entry.reject);
    }
  }

  /**
   * Rejects every waiting command, marked as never sent.
   *
   * @param error Why no connection will carry them.
   */
  failAll(error: unknown): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#stop();
    // None of them reached a socket, whatever the error says of the connection.
    const unsent = notSent(error);
    for (const entry of waiting) entry.reject(unsent);
  }

  #arm(at: number): void {
    // AbortSignal.timeout rather than setTimeout: the first setTimeout of a
    // process costs milliseconds of lazy set-up. The signal keeps nothing alive.
    const timer = AbortSignal.timeout(
      Math.max(0, Math.ceil(at - performance.now())),
    );
    timer.addEventListener("abort", this.#onTimer, { once: true });
    this.#timer = timer;
  }

  #onTimer = (): void => {
    this.#timer = null;
    const now = performance.now();
    const waiting = this.#waiting;
    let expired = 0;
    while (expired < waiting.length && waiting[expired].deadline <= now) {
      expired++;
    }
    if (expired > 0) {
      const error = this.#expired();
      for (const entry of waiting.splice(0, expired)) entry.reject(error);
    }
    if (waiting.length > 0 && waiting[0].deadline !== Infinity) {
      this.#arm(waiting[0].deadline);
    }
  };

  #stop(): void {
    this.#timer?.removeEventListener("abort", this.#onTimer);
    this.#timer = null;
  }
}
