/**
 * The commands of one connection that wait for their replies, in send order.
 * Replies arrive in the same order, so the oldest waiting command gets the
 * next reply; a command that timed out keeps its place so that its late reply
 * is read and dropped.
 *
 * @module
 */

import { RedisReplyError } from "./errors.ts";
import { ErrorReply, type ParsedReply } from "./resp.ts";
import type { RedisReply } from "./types.ts";

type Resolve = (reply: RedisReply) => void;
type Reject = (error: Error) => void;

/** Answered commands dropped at once once this many pile up at the front. */
const COMPACT_AFTER = 4096;

/** A FIFO of commands awaiting replies, each with its deadline. */
export class PendingReplies {
  // Parallel arrays rather than one object per command: under load that is
  // most of what the client allocates. `#head` is the next to get a reply;
  // a `null` resolver marks a command that timed out. A timed-out command
  // keeps nothing else: its late reply, which may never come, needs only
  // the place.
  #resolvers: (Resolve | null)[] = [];
  #rejecters: (Reject | null)[] = [];
  /** The command names (`args[0]`), for error messages; never arguments. */
  #names: unknown[] = [];
  /** `performance.now()` after which each command times out. */
  #deadlines: number[] = [];
  #head = 0;
  /** Index of the first command not yet known to have timed out. */
  #unexpired = 0;
  /** Commands still waiting for a reply, timed-out ones excluded. */
  #waiting = 0;

  readonly #scrub: (text: string) => string;

  /**
   * Creates an empty queue.
   *
   * @param scrub Hides credentials in error replies, which may echo arguments.
   */
  constructor(scrub: (text: string) => string = (text) => text) {
    this.#scrub = scrub;
  }

  /** Commands still waiting for a reply, timed-out ones excluded. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Whether the command the next reply belongs to has timed out: a reply
   * being read now is the late reply of a command nobody waits for.
   */
  get headExpired(): boolean {
    return this.#head < this.#resolvers.length &&
      this.#resolvers[this.#head] === null;
  }

  /**
   * Adds a command at the back.
   *
   * @param name The command's name (`args[0]`), for messages.
   * @param deadline `performance.now()` after which it times out; `Infinity` for never.
   * @returns Its reply; an error reply rejects with `RedisReplyError`.
   */
  add(name: unknown, deadline: number): Promise<RedisReply> {
    const promise = new Promise<RedisReply>((resolve, reject) => {
      this.#resolvers.push(resolve);
      this.#rejecters.push(reject);
    });
    this.#names.push(name);
    this.#deadlines.push(deadline);
    this.#waiting++;
    return promise;
  }

  /**
   * Hands a reply to the oldest command that has none yet.
   *
   * @param reply The parsed reply.
   * @returns `false` when no command was waiting for it: the stream is out of step.
   */
  settle(reply: ParsedReply): boolean {
    const head = this.#head;
    if (head === this.#resolvers.length) return false;
    const resolve = this.#resolvers[head];
    this.#head = head + 1;
    if (resolve !== null) {
      this.#waiting--;
      if (reply instanceof ErrorReply) {
        this.#rejecters[head]!(
          new RedisReplyError(this.#scrub(reply.message), {
            command: commandName(this.#names[head]),
          }),
        );
      } else {
        resolve(reply);
      }
    }
    if (this.#head === this.#resolvers.length) {
      this.#clear();
    } else if (
      this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#resolvers.length
    ) {
      // Drop answered commands so a busy connection's arrays do not grow forever.
      const from = this.#head;
      this.#resolvers = this.#resolvers.slice(from);
      this.#rejecters = this.#rejecters.slice(from);
      this.#names = this.#names.slice(from);
      this.#deadlines = this.#deadlines.slice(from);
      this.#unexpired = Math.max(0, this.#unexpired - from);
      this.#head = 0;
    }
    return true;
  }

  /**
   * Rejects every command whose deadline has passed. Deadlines grow in queue
   * order, so the scan stops at the first command still in time.
   *
   * @param now `performance.now()`.
   * @param timedOut Makes the error for a command, given its name.
   * @returns The deadline of the oldest command still waiting, or `Infinity`.
   * A command that timed out keeps only its place, for its late reply.
   */
  expire(now: number, timedOut: (command: string) => Error): number {
    const count = this.#resolvers.length;
    let i = Math.max(this.#unexpired, this.#head);
    for (; i < count; i++) {
      if (this.#deadlines[i] > now) break;
      const reject = this.#rejecters[i];
      if (reject === null || this.#resolvers[i] === null) continue;
      this.#waiting--;
      const name = this.#names[i];
      this.#resolvers[i] = null;
      this.#rejecters[i] = null;
      this.#names[i] = null;
      reject(timedOut(commandName(name)));
    }
    this.#unexpired = i;
    return i < count ? this.#deadlines[i] : Infinity;
  }

  /**
   * Rejects every command still waiting and empties the queue.
   *
   * @param error What each of them rejects with.
   * @param unsentError What the last `unsent` of them reject with instead.
   * @param unsent How many commands at the back were never written.
   */
  failAll(error: Error, unsentError: Error = error, unsent = 0): void {
    const firstUnsent = this.#resolvers.length - unsent;
    for (let i = this.#head; i < this.#resolvers.length; i++) {
      if (this.#resolvers[i] !== null) {
        this.#rejecters[i]!(i >= firstUnsent ? unsentError : error);
      }
    }
    this.#clear();
    this.#waiting = 0;
  }

  #clear(): void {
    this.#resolvers = [];
    this.#rejecters = [];
    this.#names = [];
    this.#deadlines = [];
    this.#head = 0;
    this.#unexpired = 0;
  }
}

/** A command's name for messages: `args[0]` upper-cased, or `?`. */
export function commandName(name: unknown): string {
  return typeof name === "string" ? name.toUpperCase() : "?";
}
