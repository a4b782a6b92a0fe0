/**
 * A client for a Redis deployment watched by Sentinel: it asks the Sentinels
 * which server is the master, talks to that master through a
 * {@linkcode RedisClient}, and follows failovers by itself.
 *
 * @module
 */

import { backoffDelay, sleep } from "../async/backoff.ts";
import { beforeDeadline } from "../async/deadline.ts";
import { failoverStep, SentinelSubscriptions } from "./_sentinel_events.ts";
import {
  type RedisSentinelClientOptions,
  sentinelSettings,
} from "./_sentinel_options.ts";
import { RedisClient, type RedisClientOptions } from "./client.ts";
import { forwardClientEvents, RedisEventTarget } from "./events.ts";
import {
  notExecuted,
  RedisConnectionError,
  RedisReplyError,
  RedisTimeoutError,
} from "./errors.ts";
import { sendWithWait } from "./replication.ts";
import { retryWithinDeadline, Unsent } from "./_retry.ts";
import { Waiters } from "./_waiters.ts";
import { FailoverHold } from "./_failover_hold.ts";
import {
  askSentinel,
  candidates,
  firstMaster,
  type Replaced,
  replyRecord,
  settleMost,
  tally,
} from "./_sentinel_views.ts";

// The throwaway Sentinels of ./testing read `SENTINEL MASTER` with it.
export { replyRecord };
import type { RedisArg, RedisReply, RedisSender } from "./types.ts";
import type { RedisEndpoint } from "./url.ts";

export type { RedisSentinelClientOptions } from "./_sentinel_options.ts";

/** Counters of what a Sentinel client has done, for tests and monitoring. */
export interface RedisSentinelClientStats {
  /** Times the client moved to a different master. */
  readonly failovers: number;
  /** Times it asked the Sentinels who the master is. */
  readonly resolutions: number;
  /** Commands sent again because the server answered `READONLY` or `LOADING`. */
  readonly retries: number;
  /** Times a Sentinel refused the subscription to failover events (once per Sentinel until it accepts). */
  readonly subscriptionsRefused: number;
}

/** The master in use and the client connected to it. */
interface Master {
  /** `host:port`, as Sentinel names it. */
  readonly address: string;
  readonly client: RedisClient;
}

type Operation = (client: RedisClient) => Promise<RedisReply>;

const RESOLVE_BACKOFF = { baseMs: 50, maxMs: 500, floor: 0.5 };
/**
 * Once a majority of Sentinels answered, the others get this long more: a
 * hung Sentinel must not hold up every resolution for its full timeout.
 */
const QUORUM_GRACE_MS = 100;
/** A timeout prompts a check of who is master at most this often. */
const CHECK_GAP_MS = 1000;

/**
 * A client for a Redis master watched by Sentinel. It implements
 * {@linkcode RedisSender}, so the storage runs on it unchanged.
 *
 * It asks every Sentinel for the master (`SENTINEL MASTER` and
 * `SENTINEL GET-MASTER-ADDR-BY-NAME`), trusts the address the Sentinels with
 * the newest configuration epoch (`config-epoch`) name, checks it with
 * `ROLE`, and sends commands to that master over one auto-pipelined
 * {@linkcode RedisClient}. It follows failovers by itself:
 *
 * - it subscribes to every Sentinel's events and, from a failover's first
 *   step (`+try-failover`, `+elected-leader`, …) until its `+switch-master`,
 *   sends nothing to the master being replaced: new commands wait. A
 *   failover the Sentinels abort, or one that outlasts their
 *   `failover-timeout`, ends the wait too, once the Sentinels' answers show
 *   no failover promoting a replica (a Sentinel whose `SENTINEL MASTER`
 *   flags say `failover_in_progress` while it still names the old master),
 *   the answer of every Sentinel whose events began the wait among them;
 * - it asks the Sentinels again when the master's connection is lost, when a
 *   command times out, and when the master answers `READONLY` (it was
 *   demoted).
 *
 * A command that got `READONLY` or `LOADING` was not executed, so it is sent
 * again to the (new) master within its deadline. A command that was on the
 * wire when the connection was lost, or that timed out, is never sent again:
 * the server may have executed it, and its caller gets the error. A command
 * sent while no master is known, or while a failover holds it, waits up to
 * `commandTimeoutMs`; then it rejects with `executed: "no"`
 * ({@linkcode RedisTimeoutError} during a failover, else
 * {@linkcode RedisConnectionError}), and is safe to send again.
 *
 * Create one with {@linkcode createRedisSentinelClient}.
 */
export class RedisSentinelClient extends RedisEventTarget
  implements RedisSender, AsyncDisposable {
  readonly #masterName: string;
  readonly #sentinels: RedisEndpoint[];
  readonly #sentinelClients: RedisClient[];
  readonly #events: SentinelSubscriptions;
  readonly #nodeUrl: (address: string) => string;
  readonly #nodeOptions: RedisClientOptions;
  /** For `ROLE` probes of a candidate master: short timeouts, no reconnects. */
  readonly #probeOptions: RedisClientOptions;
  /** Milliseconds a command may take, waiting for a master included; 0 waits forever. */
  readonly #timeoutMs: number;
  #master: Master | null = null;
  /** The new master's address as the last `+switch-master` announced it. */
  #announced: string | undefined;
  /** How many `+switch-master` announcements have arrived. */
  #switches = 0;
  /** The master the last `+switch-master` replaced. */
  #replaced: Replaced | undefined;
  /** The newest configuration epoch a Sentinel has named. */
  #epoch = 0;
  /** The address of the last master in use, to count moves to another. */
  #lastAddress: string | undefined;
  /** The Sentinels whose events began or extended the hold, by index. */
  readonly #holders = new Set<number>();
  /** Holds new commands back while a failover is under way. */
  readonly #failover = new FailoverHold(() => {
    // The master in use may be the one replaced: found again, by epoch.
    const master = this.#master;
    if (master !== null) this.#suspect(master);
    this.#release();
  });
  #resolving: Promise<void> | null = null;
  #lastCheckAt = -Infinity;
  /** Aborted to cut a resolution's backoff short when an event arrives. */
  #wake = new AbortController();
  /** Commands waiting for a master to be known. */
  readonly #waiters = new Waiters<Master>();
  #lastError: unknown;
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #counts = { failovers: 0, resolutions: 0, retries: 0 };

  /**
   * Creates a client that has not asked the Sentinels yet; call
   * {@linkcode RedisSentinelClient.connect} (or use
   * {@linkcode createRedisSentinelClient}) to do so before the first command.
   *
   * @param sentinels `redis://` or `rediss://` URLs of the Sentinels, with
   * the Sentinels' own credentials. The scheme of the first applies to the
   * data nodes too.
   * @param options The master's name, the data nodes' credentials and
   * database, and the options of the master's {@linkcode RedisClient}.
   * @throws {TypeError} when a URL or an option is invalid.
   */
  constructor(
    sentinels: readonly (string | URL)[] | string | URL,
    options: RedisSentinelClientOptions,
  ) {
    super();
    const settings = sentinelSettings(sentinels, options);
    this.#masterName = settings.masterName;
    this.#sentinels = settings.sentinels;
    this.#nodeUrl = settings.nodeUrl;
    this.#nodeOptions = settings.nodeOptions;
    this.#probeOptions = settings.probeOptions;
    this.#timeoutMs = settings.timeoutMs;
    this.#sentinelClients = settings.sentinelUrls.map((url) =>
      new RedisClient(url, settings.sentinelOptions)
    );
    this.#events = new SentinelSubscriptions(this.#sentinels, {
      ...settings,
      onMessage: (channel, payload, sentinel) =>
        this.#onEvent(channel, payload, sentinel),
      // Events may have been missed while a subscription was down.
      onResubscribed: () => this.#check(),
      onRefused: (event) => this.dispatchEvent(event),
    });
  }

  /** The name the Sentinels know the master by. */
  get masterName(): string {
    return this.#masterName;
  }

  /** The Sentinels' URLs, passwords replaced by `***`. */
  get sentinels(): string[] {
    return this.#sentinels.map((s) => s.redacted);
  }

  /** The current master's URL, password replaced by `***`; `undefined` while none is known. */
  get master(): string | undefined {
    return this.#master?.client.url;
  }

  /** Counts of failovers followed, resolutions and retried commands so far. */
  get stats(): RedisSentinelClientStats {
    return { ...this.#counts, subscriptionsRefused: this.#events.refusals };
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Asks the Sentinels for the master and connects to it.
   *
   * @returns This client, connected.
   * @throws {RedisConnectionError} when no master is found and reached within `connectTimeoutMs`.
   */
  async connect(): Promise<this> {
    const timeoutMs = this.#nodeOptions.connectTimeoutMs ?? 5000;
    const [, refused] = await Promise.all([
      this.#ready("connect", performance.now() + timeoutMs, timeoutMs),
      this.#events.firstAttempts(timeoutMs),
    ]);
    if (refused !== undefined) throw refused;
    return this;
  }

  /**
   * Sends one command to the current master. Commands sent in the same tick
   * leave in one write.
   *
   * @param args The command name and its arguments, e.g. `["HGET", key, field]`.
   * @returns The decoded reply.
   * @throws {RedisReplyError} when the server answers with an error (other than `READONLY` or `LOADING`, which are retried).
   * @throws {RedisConnectionError} when no master can be reached within `commandTimeoutMs`, or the connection drops with the command on the wire.
   * @throws {RedisTimeoutError} when no reply arrives within `commandTimeoutMs`.
   */
  send(args: readonly RedisArg[]): Promise<RedisReply> {
    return this.#run(args, (client) => client.send(args));
  }

  /**
   * The library's private path for a write followed by `WAIT`.
   *
   * @ignore
   */
  [sendWithWait](
    args: readonly RedisArg[],
    replicas: number,
    timeoutMs: number,
  ): Promise<RedisReply> {
    return this.#run(
      args,
      (client) => client[sendWithWait](args, replicas, timeoutMs),
    );
  }

  /**
   * Waits for every reply still due, then closes every connection. Commands
   * sent afterwards reject with `RedisConnectionError`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Same as {@linkcode RedisSentinelClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Describes the client by its master's name and redacted Sentinel URLs. */
  override toString(): string {
    return `RedisSentinelClient(${this.#masterName} via ${
      this.sentinels.join(", ")
    })`;
  }

  /** Keeps `JSON.stringify` to the name and redacted URLs. */
  toJSON(): { masterName: string; sentinels: string[]; master?: string } {
    return {
      masterName: this.#masterName,
      sentinels: this.sentinels,
      master: this.master,
    };
  }

  /** Shows only redacted URLs and state in `console.log` and `Deno.inspect`. */
  [Symbol.for("Deno.customInspect")](): string {
    return `RedisSentinelClient ${
      JSON.stringify({
        ...this.toJSON(),
        state: this.#closed
          ? "closed"
          : this.#failover.held
          ? "failing over"
          : "open",
      })
    }`;
  }

  #run(args: readonly RedisArg[], op: Operation): Promise<RedisReply> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const deadline = this.#deadline(performance.now());
    const master = this.#master;
    if (master !== null && !this.#failover.held && master.client.connected) {
      return op(master.client).catch((error) =>
        this.#retry(args, op, deadline, master, error)
      );
    }
    return this.#retry(args, op, deadline, master);
  }

  #deadline(start: number): number {
    return this.#timeoutMs > 0 ? start + this.#timeoutMs : Infinity;
  }

  /**
   * Waits for a master, connects to it, then sends; sends again, within the
   * deadline, what was not executed because the master was demoted
   * (`READONLY`), loading (`LOADING`) or could not be connected to.
   */
  #retry(
    args: readonly RedisArg[],
    op: Operation,
    deadline: number,
    master: Master | null,
    ...failure: [unknown] | []
  ): Promise<RedisReply> {
    const name = commandName(args);
    return retryWithinDeadline({
      deadline,
      attempt: async () => {
        // A command that found no master by its deadline was never sent,
        // and tells nothing of a master.
        master = null;
        master = await this.#ready(name, deadline, this.#timeoutMs);
        const client = master.client;
        try {
          // Connected first, so that a failed connect is known not to have
          // sent the command, which may then wait for another master.
          await beforeDeadline(
            client.connect(),
            deadline,
            () =>
              new RedisConnectionError(
                `No connection to the master of "${this.#masterName}" (${client.url}) came up within ${this.#timeoutMs} ms.`,
                { cause: this.#lastError },
              ),
          );
        } catch (error) {
          throw new Unsent(error);
        }
        return await beforeDeadline(
          op(client),
          deadline,
          () =>
            new RedisTimeoutError(
              `${name} got no reply from the master of "${this.#masterName}" (${client.url}) within ${this.#timeoutMs} ms.`,
            ),
        );
      },
      next: (error) => {
        if (this.#closed) throw this.#closedError();
        if (error instanceof Unsent) {
          this.#lastError = error.error;
          if (master !== null) this.#suspect(master);
          return 0;
        }
        if (!retriable(error)) {
          if (master !== null) this.#onFailure(error, master);
          return undefined;
        }
        this.#counts.retries++;
        this.#lastError = error;
        if ((error as RedisReplyError).code === "READONLY") {
          // The master was demoted: find the new one.
          if (master !== null) this.#suspect(master);
          return 0;
        }
        // LOADING: the master is reading its data set; give it a moment.
        return 50;
      },
      late: (last) => {
        if (last instanceof Unsent) {
          return new RedisConnectionError(
            `${name} was not executed: ${
              last.error instanceof Error
                ? last.error.message.replace(/\.$/, "")
                : "no connection to the master came up"
            }. It is safe to send again.`,
            { executed: "no", cause: last.error },
          );
        }
        return new RedisTimeoutError(
          `${name} was not executed: the master of "${this.#masterName}" answered ${
            (last as RedisReplyError).code
          } until the command's deadline of ${this.#timeoutMs} ms passed. It is safe to send again.`,
          { executed: "no", cause: last },
        );
      },
    }, ...failure);
  }

  /** A failure the caller gets; it may still tell something about the master. */
  #onFailure(error: unknown, master: Master): void {
    if (this.#closed) return;
    if (error instanceof RedisConnectionError) {
      this.#lastError = error;
      this.#suspect(master);
    } else if (error instanceof RedisTimeoutError) {
      // A hung master looks like this; Sentinel may have replaced it.
      this.#check();
    }
  }

  /** Stops using `master` and asks the Sentinels again. */
  #suspect(master: Master): void {
    if (this.#master === master) {
      this.#master = null;
      // Replies still due on it arrive before it closes.
      master.client.close().catch(() => {});
    }
    this.#resolve();
  }

  /** Asks the Sentinels again without leaving the current master meanwhile. */
  #check(): void {
    if (performance.now() - this.#lastCheckAt < CHECK_GAP_MS) return;
    this.#lastCheckAt = performance.now();
    this.#resolve();
  }

  #onEvent(channel: string, payload: string, sentinel: number): void {
    if (this.#closed) return;
    const step = failoverStep(channel, payload, this.#masterName);
    if (step === undefined) return;
    if (step.kind === "hold") {
      this.#holders.add(sentinel);
      this.#hold();
    } else if (step.kind === "switch") {
      // The old master may take writes for a while yet, which its demotion
      // would discard: nothing more goes there.
      this.#announced = step.address;
      this.#replaced = { address: step.replaced, epoch: this.#epoch };
      this.#switches++;
      const old = this.#master;
      if (old !== null && old.address !== this.#announced) this.#suspect(old);
      this.#release();
    } else {
      // Aborted or ended: the hold ends once the Sentinels' answers show no
      // failover promoting a replica (#discover), not on this one message,
      // as another Sentinel may be failing over still.
      this.#resolve();
    }
    // A resolution waiting out its backoff tries again now.
    this.#wake.abort();
  }

  /**
   * Holds new commands back until the failover ends: until `+switch-master`,
   * until the Sentinels' answers show it over, or at the latest after their
   * `failover-timeout`, by which Sentinel has ended or aborted it.
   */
  #hold(): void {
    this.#failover.begin();
  }

  #release(): void {
    this.#endHold();
    this.#resolve();
  }

  #endHold(): void {
    this.#failover.end();
    this.#holders.clear();
  }

  /** Resolves with a usable master, waiting for one until `deadline`. */
  #ready(name: string, deadline: number, timeoutMs: number): Promise<Master> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#master !== null && !this.#failover.held) {
      return Promise.resolve(this.#master);
    }
    this.#resolve();
    return this.#waiters.wait(
      deadline,
      () => this.#notSent(name, timeoutMs),
    );
  }

  /** Why a command that waited for a master until its deadline was never sent. */
  #notSent(name: string, timeoutMs: number): Error {
    const last = this.#lastError;
    if (this.#failover.held) {
      return new RedisTimeoutError(
        `${name} was not executed: a failover of "${this.#masterName}" was under way for ${
          Math.round(performance.now() - this.#failover.since)
        } ms and did not end within the command's ${timeoutMs} ms, so it was never sent. It is safe to send again.`,
        { executed: "no", cause: last },
      );
    }
    return new RedisConnectionError(
      `${name} was not executed: it found no master "${this.#masterName}" within ${timeoutMs} ms${
        last instanceof Error
          ? `; the last error: ${last.message.replace(/\.$/, "")}`
          : ""
      }. Check that the Sentinels at ${
        this.sentinels.join(", ")
      } are reachable and agree on a master.`,
      { executed: "no", cause: last },
    );
  }

  /** Starts asking the Sentinels for the master, unless that is under way. */
  #resolve(): void {
    if (this.#resolving !== null || this.#closed) return;
    this.#resolving = this.#resolveLoop().finally(() => {
      this.#resolving = null;
    });
  }

  async #resolveLoop(): Promise<void> {
    for (let attempt = 1; !this.#closed; attempt++) {
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
      try {
        const switches = this.#switches;
        const { master: found, holdOver } = await this.#discover();
        if (this.#closed) {
          if (found !== this.#master) await found.client.close();
          return;
        }
        if (this.#switches !== switches) {
          // A +switch-master came while the Sentinels were asked: what they
          // named, and the ROLE that found it a master, may be from before
          // the switch, and the old master takes writes until it is demoted,
          // which would discard them. Ask again, at once.
          if (found !== this.#master) await found.client.close();
          continue;
        }
        // Both at once: no command may reach the old master in between.
        if (holdOver && this.#failover.held) this.#endHold();
        this.#install(found);
        // Held commands wait for the failover's end: keep asking.
        if (!this.#failover.held || this.#waiters.size === 0) return;
      } catch (error) {
        this.#lastError = error;
      }
      // Nobody waits, and a master is in use: stop; the next trigger asks again.
      if (this.#waiters.size === 0 && (this.#master !== null || attempt >= 3)) {
        return;
      }
      await sleep(
        backoffDelay(attempt, RESOLVE_BACKOFF),
        this.#wake.signal,
      );
    }
  }

  /**
   * Asks every Sentinel for the master in parallel and returns the
   * candidate that the newest configuration names and that answers `ROLE`
   * as a master, and whether a hold may end: a majority of Sentinels, asked
   * after it began, show no failover promoting a replica (it was aborted, or
   * it is done and they name the new master). While a Sentinel is promoting
   * a replica, it throws: the master it replaces must not get commands.
   */
  async #discover(): Promise<{ master: Master; holdOver: boolean }> {
    this.#counts.resolutions++;
    const startedAt = performance.now();
    const answers = await settleMost(
      this.#sentinelClients.map((client) =>
        askSentinel(client, this.#masterName)
      ),
      QUORUM_GRACE_MS,
    );
    const { views, refusal, lastError: asked } = tally(answers);
    const timeouts = views.map((v) => v.failoverTimeoutMs).filter((ms) =>
      ms > 0
    );
    if (timeouts.length > 0) this.#failover.timeoutMs = Math.max(...timeouts);
    if (views.some((view) => view.promoting)) {
      // Seen here even when its events were missed.
      this.#hold();
      throw new RedisConnectionError(
        `A failover of "${this.#masterName}" is under way: a Sentinel is promoting a replica.`,
      );
    }
    // A Sentinel running a failover is often the only one that knows of it
    // until it ends: its own answer must be among those that end the hold.
    const holdOver = startedAt > this.#failover.since &&
      views.length > this.#sentinelClients.length / 2 &&
      [...this.#holders].every((i) => answers[i]?.status === "fulfilled");
    for (const view of views) {
      if (view.epoch > this.#epoch) this.#epoch = view.epoch;
    }
    const addresses = candidates(views, this.#announced, this.#replaced);
    // Once every Sentinel names it, the announcement has done its job.
    if (views.every((view) => view.address === this.#announced)) {
      this.#announced = undefined;
    }
    if (addresses.length === 0) {
      const why = refusal ?? asked;
      throw new RedisConnectionError(
        `No Sentinel at ${
          this.sentinels.join(", ")
        } named a master "${this.#masterName}"${
          why instanceof Error ? `: ${why.message}` : ""
        }.`,
        { cause: why },
      );
    }
    const address = await firstMaster(
      addresses,
      // A short-lived probe, so that a hung candidate costs the Sentinel
      // query timeout, not the command timeout.
      (address) => new RedisClient(this.#nodeUrl(address), this.#probeOptions),
      asked,
    );
    const current = this.#master;
    if (current?.address === address) return { master: current, holdOver };
    const client = new RedisClient(this.#nodeUrl(address), this.#nodeOptions);
    // The master's events reach this client's listeners, naming it.
    forwardClientEvents(client, this);
    return { master: { address, client }, holdOver };
  }

  /** Makes `master` the one in use, and sends it the waiting commands unless a failover holds them. */
  #install(master: Master): void {
    const previous = this.#master;
    if (previous !== master) {
      previous?.client.close().catch(() => {});
      this.#master = master;
    }
    if (
      this.#lastAddress !== undefined && this.#lastAddress !== master.address
    ) {
      this.#counts.failovers++;
    }
    this.#lastAddress = master.address;
    if (this.#failover.held) return;
    this.#waiters.resolveAll(master);
  }

  #closedError(): RedisConnectionError {
    return new RedisConnectionError(
      `The Sentinel client for "${this.#masterName}" is closed; create a new one.`,
    );
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#failover.end();
    this.#wake.abort();
    const error = this.#closedError();
    this.#waiters.rejectAll(error);
    await this.#resolving;
    const master = this.#master;
    this.#master = null;
    await Promise.all([
      this.#events.close(),
      ...this.#sentinelClients.map((client) => client.close()),
      master?.client.close(),
    ]);
  }
}

/**
 * Whether `error`'s command was not executed for a reason that passes: the
 * master was demoted (`READONLY`) or is loading its data (`LOADING`).
 */
function retriable(error: unknown): boolean {
  return notExecuted(error) && error instanceof RedisReplyError &&
    (error.code === "READONLY" || error.code === "LOADING");
}

function commandName(args: readonly RedisArg[]): string {
  return typeof args[0] === "string" ? args[0].toUpperCase() : "Command";
}
