/**
 * A dedicated subscriber connection to one Sentinel: it authenticates,
 * subscribes to Sentinel's event channels and hands every message on,
 * reconnecting with backoff until it is closed. The request/reply client
 * cannot carry pub/sub traffic, whose messages arrive unasked.
 *
 * @module
 */

import { backoffDelay, sleep } from "../async/backoff.ts";
import { encodeCommand, ErrorReply, ReplyParser } from "./resp.ts";
import type { RedisArg, RedisReply } from "./types.ts";
import type { RedisEndpoint } from "./url.ts";
import { RedisConnectionError, RedisReplyError } from "./errors.ts";
import { RedisErrorEvent } from "./events.ts";

/** Settings of a {@linkcode SentinelEvents}. */
export interface SentinelEventsOptions {
  /** Milliseconds to connect and get the subscription confirmed. */
  connectTimeoutMs: number;
  /** PEM certificates trusted for `rediss://` Sentinels. */
  caCerts: string[] | undefined;
  /** The channels to subscribe to, e.g. `+switch-master`. */
  channels: readonly string[];
  /** Called with each message's channel and payload. */
  onMessage(channel: string, payload: string): void;
  /**
   * Called once the subscription is confirmed, after every (re)connect:
   * events may have been missed while it was down.
   */
  onSubscribed(): void;
  /**
   * Called with the error reply when the Sentinel refuses the `SUBSCRIBE`
   * (an ACL without `+subscribe` or a channel): once, until a later attempt
   * is confirmed. Attempts go on, in case the ACL is fixed.
   */
  onRefused(reply: string): void;
}

/** How the first attempt to subscribe ended. */
export type FirstAttempt = "subscribed" | "refused" | "failed";

const BACKOFF = { baseMs: 100, maxMs: 2000, floor: 0.5 };

/** A subscriber to one Sentinel's events that keeps itself connected. */
export class SentinelEvents {
  readonly #endpoint: RedisEndpoint;
  readonly #options: SentinelEventsOptions;
  readonly #abort = new AbortController();
  #socket: Deno.Conn | null = null;
  readonly #running: Promise<void>;
  /** Whether the last attempt was refused, so a refusal is reported once. */
  #refused = false;
  #settleFirst!: (outcome: FirstAttempt) => void;
  /** How the first attempt ended; "failed" if closed before it did. */
  readonly firstAttempt: Promise<FirstAttempt> = new Promise((resolve) => {
    this.#settleFirst = resolve;
  });

  /**
   * Starts subscribing at once.
   *
   * @param endpoint The Sentinel, with its own credentials.
   * @param options Timeouts, TLS, channels and callbacks.
   */
  constructor(endpoint: RedisEndpoint, options: SentinelEventsOptions) {
    this.#endpoint = endpoint;
    this.#options = options;
    this.#running = this.#run();
  }

  /** Stops subscribing and closes the connection. */
  async close(): Promise<void> {
    this.#abort.abort();
    this.#settleFirst("failed");
    closeQuietly(this.#socket);
    await this.#running;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    for (let failures = 0; !signal.aborted;) {
      try {
        await this.#session();
        failures = 0;
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) throw error;
        failures++;
      }
      // A first attempt that was neither confirmed nor refused failed.
      this.#settleFirst("failed");
      if (signal.aborted) return;
      await sleep(backoffDelay(Math.max(1, failures), BACKOFF), signal);
    }
  }

  /** One connection's life: connect, subscribe, read until it ends. */
  async #session(): Promise<void> {
    const { hostname, port, tls, username, password } = this.#endpoint;
    const signal = AbortSignal.any([
      this.#abort.signal,
      AbortSignal.timeout(this.#options.connectTimeoutMs),
    ]);
    const connecting = tls
      ? Deno.connectTls({ hostname, port, caCerts: this.#options.caCerts })
      : Deno.connect({ hostname, port });
    const onAbort = () => connecting.then(closeQuietly, () => {});
    signal.addEventListener("abort", onAbort, { once: true });
    let socket: Deno.Conn;
    try {
      socket = await connecting;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    if (signal.aborted) {
      closeQuietly(socket);
      return;
    }
    this.#socket = socket;
    // Until the subscription is confirmed, the connect timeout applies.
    const confirmTimer = setTimeout(
      () => closeQuietly(socket),
      this.#options.connectTimeoutMs,
    );
    try {
      const commands: RedisArg[][] = [];
      if (password !== undefined) {
        commands.push(
          username === undefined
            ? ["AUTH", password]
            : ["AUTH", username, password],
        );
      }
      commands.push(["SUBSCRIBE", ...this.#options.channels]);
      for (const command of commands) {
        const bytes = encodeCommand(command);
        for (let n = 0; n < bytes.byteLength;) {
          n += await socket.write(bytes.subarray(n));
        }
      }
      const parser = new ReplyParser();
      const buf = new Uint8Array(16 * 1024);
      let confirmed = 0;
      // AUTH's reply comes first; an error after it is SUBSCRIBE's.
      let authReplies = commands.length - 1;
      while (true) {
        const n = await socket.read(buf);
        if (n === null) return;
        parser.feed(buf.subarray(0, n), (reply) => {
          if (authReplies > 0) {
            authReplies--;
            // A refused AUTH: nothing to do but try again later.
            if (reply instanceof ErrorReply) throw new Error(reply.message);
            return;
          }
          if (reply instanceof ErrorReply) {
            if (!this.#refused) this.#options.onRefused(reply.message);
            this.#refused = true;
            this.#settleFirst("refused");
            throw new Error(reply.message);
          }
          const [kind, channel, payload] = asStrings(reply);
          if (kind === "subscribe") {
            if (++confirmed === this.#options.channels.length) {
              clearTimeout(confirmTimer);
              this.#refused = false;
              this.#settleFirst("subscribed");
              this.#options.onSubscribed();
            }
          } else if (kind === "message") {
            this.#options.onMessage(channel, payload);
          }
        });
      }
    } finally {
      clearTimeout(confirmTimer);
      this.#socket = null;
      closeQuietly(socket);
    }
  }
}

/** Settings of {@linkcode SentinelSubscriptions}. */
export interface SentinelSubscriptionsOptions {
  /** The master whose failovers are followed, for messages. */
  masterName: string;
  /** Milliseconds to connect and get a subscription confirmed. */
  connectTimeoutMs: number;
  /** PEM certificates trusted for `rediss://` Sentinels. */
  caCerts: string[] | undefined;
  /** Whether {@linkcode SentinelSubscriptions.firstAttempts} reports a refusal by every Sentinel. */
  requireFailoverEvents: boolean;
  /**
   * Called with each failover event's channel and payload, and which
   * Sentinel sent it (its index in the list given).
   */
  onMessage(channel: string, payload: string, sentinel: number): void;
  /** Called when a subscription is confirmed again: events may have been missed. */
  onResubscribed(): void;
  /** Called when a Sentinel refuses the subscription, with an error naming it. */
  onRefused(event: RedisErrorEvent): void;
}

/**
 * The subscriptions of a Sentinel client to the failover events of every
 * Sentinel. A Sentinel that refuses the subscription (an ACL without
 * `+subscribe` or one of the channels) is reported, not skipped silently:
 * without the events, failovers go unseen and writes are not held back.
 */
export class SentinelSubscriptions {
  readonly #events: SentinelEvents[];
  #refusals = 0;
  #lastRefusal: RedisReplyError | undefined;
  readonly #masterName: string;
  readonly #require: boolean;

  /**
   * Starts subscribing to every Sentinel at once.
   *
   * @param sentinels The Sentinels, with their own credentials.
   * @param options Timeouts, TLS and callbacks.
   */
  constructor(
    sentinels: readonly RedisEndpoint[],
    options: SentinelSubscriptionsOptions,
  ) {
    this.#masterName = options.masterName;
    this.#require = options.requireFailoverEvents;
    this.#events = sentinels.map((endpoint, sentinel) => {
      const address = endpointAddress(endpoint);
      let subscribed = false;
      return new SentinelEvents(endpoint, {
        connectTimeoutMs: options.connectTimeoutMs,
        caCerts: options.caCerts,
        channels: FAILOVER_CHANNELS,
        onMessage: (channel, payload) =>
          options.onMessage(channel, payload, sentinel),
        onSubscribed: () => {
          if (subscribed) options.onResubscribed();
          subscribed = true;
        },
        onRefused: (reply) => {
          const error = new RedisReplyError(reply, {
            command: "SUBSCRIBE",
            context: `Sentinel ${address} refused the subscription to the ` +
              `failover events of "${options.masterName}", so failovers go ` +
              "unseen and writes are not held back during one",
          });
          this.#refusals++;
          this.#lastRefusal = error;
          options.onRefused(new RedisErrorEvent({ address, error }));
        },
      });
    });
  }

  /**
   * Waits until a Sentinel confirms the subscription, or every Sentinel's
   * first attempt ended, or `timeoutMs` passed.
   *
   * @param timeoutMs The longest wait.
   * @returns An error saying what to grant when failover events are required,
   * no Sentinel subscribed and at least one refused; `undefined` otherwise (Sentinels that could not be
   * reached are tried again in the background).
   */
  async firstAttempts(
    timeoutMs: number,
  ): Promise<RedisConnectionError | undefined> {
    const outcomes = this.#events.map((events) => events.firstAttempt);
    const anySubscribed = new Promise<undefined>((resolve) => {
      for (const outcome of outcomes) {
        outcome.then((o) => o === "subscribed" && resolve(undefined));
      }
    });
    // A connect to an address that drops packets may outlast its timeout:
    // start-up does not wait for it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const settled = await Promise.race([
      anySubscribed,
      Promise.all(outcomes),
      timeout,
    ]).finally(() => clearTimeout(timer));
    if (
      !this.#require || settled === undefined ||
      settled.includes("subscribed") || !settled.includes("refused")
    ) {
      return undefined;
    }
    const refusal = this.#lastRefusal;
    return new RedisConnectionError(
      `No Sentinel of "${this.#masterName}" accepted the subscription to its ` +
        `failover events (${refusal?.message}). Without them the client cannot ` +
        "hold writes back during a failover. Grant the Sentinel user " +
        "+subscribe and the failover channels (see the Sentinel ACL line in " +
        "docs/troubleshooting.md), or set requireFailoverEvents: false.",
      { cause: refusal, executed: "no" },
    );
  }

  /** Refusals reported so far: once per Sentinel until it accepts again. */
  get refusals(): number {
    return this.#refusals;
  }

  /** Stops every subscription. */
  async close(): Promise<void> {
    await Promise.all(this.#events.map((events) => events.close()));
  }
}

function endpointAddress({ hostname, port }: RedisEndpoint): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

function asStrings(reply: RedisReply): string[] {
  return Array.isArray(reply) ? reply.map((item) => String(item)) : [];
}

function closeQuietly(socket: Deno.Conn | null): void {
  try {
    socket?.close();
  } catch {
    // Already closed.
  }
}

/**
 * The Sentinel events of a failover before its `+switch-master`: any of them
 * holds commands back. Every step is listed, not only the first, so that a
 * missed message (a subscription that was reconnecting) is made up by the
 * next one.
 */
const HOLD_EVENTS = new Set([
  "+try-failover",
  "+elected-leader",
  "+failover-state-select-slave",
  "+selected-slave",
  "+failover-state-send-slaveof-noone",
  "+failover-state-wait-promotion",
  "+promoted-slave",
  "+failover-state-reconf-slaves",
]);
/** The events that end a failover without a `+switch-master`. */
const END_EVENTS = new Set([
  "-failover-abort-not-elected",
  "-failover-abort-no-good-slave",
  "-failover-abort-slave-timeout",
  "+failover-end-for-timeout",
  "+failover-end",
]);

/** The channels a client following failovers subscribes to. */
export const FAILOVER_CHANNELS: readonly string[] = [
  "+switch-master",
  ...HOLD_EVENTS,
  ...END_EVENTS,
];

/**
 * What a failover event means to a client of one master: a failover began
 * or goes on (`hold`), it promoted the master at `address` (`switch`), or
 * it ended without one (`end`).
 */
export type FailoverStep =
  | { readonly kind: "hold" }
  | {
    readonly kind: "switch";
    readonly address: string;
    /** The address of the master it replaced. */
    readonly replaced: string;
  }
  | { readonly kind: "end" };

/**
 * Reads a message of {@linkcode FAILOVER_CHANNELS}.
 *
 * @param channel The channel it came on.
 * @param payload Its text.
 * @param masterName The master the client follows.
 * @returns The step, or `undefined` when the event is about another master.
 */
export function failoverStep(
  channel: string,
  payload: string,
  masterName: string,
): FailoverStep | undefined {
  const words = payload.split(" ");
  // "+switch-master <name> <old ip> <old port> <new ip> <new port>";
  // instance events: "master <name> <ip> <port>" or
  // "<type> <name> <ip> <port> @ <master name> <ip> <port>".
  const at = words.indexOf("@");
  const master = channel === "+switch-master"
    ? words[0]
    : at !== -1
    ? words[at + 1]
    : words[1];
  if (master !== masterName) return undefined;
  if (HOLD_EVENTS.has(channel)) return { kind: "hold" };
  if (channel === "+switch-master") {
    return {
      kind: "switch",
      address: `${words[3]}:${words[4]}`,
      replaced: `${words[1]}:${words[2]}`,
    };
  }
  return { kind: "end" };
}
