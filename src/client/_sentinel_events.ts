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
}

const BACKOFF = { baseMs: 100, maxMs: 2000, floor: 0.5 };

/** A subscriber to one Sentinel's events that keeps itself connected. */
export class SentinelEvents {
  readonly #endpoint: RedisEndpoint;
  readonly #options: SentinelEventsOptions;
  readonly #abort = new AbortController();
  #socket: Deno.Conn | null = null;
  readonly #running: Promise<void>;

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
      while (true) {
        const n = await socket.read(buf);
        if (n === null) return;
        parser.feed(buf.subarray(0, n), (reply) => {
          if (reply instanceof ErrorReply) {
            // A refused AUTH, say; nothing to do but try again later.
            throw new Error(reply.message);
          }
          const [kind, channel, payload] = asStrings(reply);
          if (kind === "subscribe") {
            if (++confirmed === this.#options.channels.length) {
              clearTimeout(confirmTimer);
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
  | { readonly kind: "switch"; readonly address: string }
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
    return { kind: "switch", address: `${words[3]}:${words[4]}` };
  }
  return { kind: "end" };
}
