/**
 * The events a client dispatches about its connection: `connect`,
 * `disconnect`, `reconnecting` and `error`. Each names the server it is
 * about, so a cluster or Sentinel client can pass on its nodes' events
 * unchanged.
 *
 * @module
 */

/** What every client event carries. */
export interface RedisEventInit {
  /** The server the event is about, as `host:port` (never credentials). */
  address: string;
}

/**
 * The base of the client events: each is about one server, named by
 * `address`, so `event instanceof RedisEvent` matches any of them.
 */
export class RedisEvent extends Event {
  /** The server the event is about, as `host:port`. */
  readonly address: string;

  /**
   * Creates the event.
   *
   * @param type The event type, e.g. `connect`.
   * @param init The server it is about.
   */
  constructor(type: string, init: RedisEventInit) {
    super(type);
    this.address = init.address;
  }
}

/** What a {@linkcode RedisConnectEvent} carries. */
export interface RedisConnectEventInit extends RedisEventInit {
  /** Whether an earlier connection was lost, so this one is a reconnect. */
  reconnect: boolean;
}

/**
 * Dispatched as `connect` when a connection is up: the socket is open and
 * the handshake (`AUTH`, `SELECT`, `CLIENT SETNAME`) has succeeded.
 *
 * @example Log every (re)connect
 * ```ts
 * import { RedisClient } from "@x/redis-subjects";
 *
 * const client = new RedisClient("redis://localhost:6379/0");
 * client.addEventListener("connect", (event) => {
 *   console.log(`connected to ${event.address}, reconnect: ${event.reconnect}`);
 * });
 * ```
 */
export class RedisConnectEvent extends RedisEvent {
  /** Always `"connect"`, which tells the events of a client apart. */
  declare readonly type: "connect";
  /** Whether an earlier connection was lost, so this one is a reconnect. */
  readonly reconnect: boolean;

  /**
   * Creates the event.
   *
   * @param init The server and whether this is a reconnect.
   */
  constructor(init: RedisConnectEventInit) {
    super("connect", init);
    this.reconnect = init.reconnect;
  }
}

/** What a {@linkcode RedisDisconnectEvent} carries. */
export interface RedisDisconnectEventInit extends RedisEventInit {
  /**
   * Why the connection ended: the error that dropped it, or `undefined` when
   * the client closed it on purpose (`close()`).
   */
  cause: Error | undefined;
}

/**
 * Dispatched as `disconnect` when a connection that was up ends: the server
 * closed it, the socket failed, or the client was closed. Commands that were
 * waiting on it have already rejected.
 *
 * @example Hear that Redis went away
 * ```ts
 * import { RedisClient } from "@x/redis-subjects";
 *
 * const client = new RedisClient("redis://localhost:6379/0");
 * client.addEventListener("disconnect", (event) => {
 *   if (event.cause) console.warn(`lost ${event.address}: ${event.cause.message}`);
 * });
 * ```
 */
export class RedisDisconnectEvent extends RedisEvent {
  /** Always `"disconnect"`, which tells the events of a client apart. */
  declare readonly type: "disconnect";
  /** The error that ended the connection; `undefined` after `close()`. */
  readonly cause: Error | undefined;

  /**
   * Creates the event.
   *
   * @param init The server and the cause.
   */
  constructor(init: RedisDisconnectEventInit) {
    super("disconnect", init);
    this.cause = init.cause;
  }
}

/** What a {@linkcode RedisReconnectingEvent} carries. */
export interface RedisReconnectingEventInit extends RedisEventInit {
  /** Which attempt of this round is about to start, from 1. */
  attempt: number;
  /** Milliseconds the client waits before the attempt; 0 for the first. */
  delayMs: number;
}

/**
 * Dispatched as `reconnecting` before each attempt to replace a lost
 * connection, with the attempt's number and the delay before it.
 *
 * @example Watch the backoff
 * ```ts
 * import { RedisClient } from "@x/redis-subjects";
 *
 * const client = new RedisClient("redis://localhost:6379/0");
 * client.addEventListener("reconnecting", (event) => {
 *   console.log(`attempt ${event.attempt} in ${event.delayMs} ms`);
 * });
 * ```
 */
export class RedisReconnectingEvent extends RedisEvent {
  /** Always `"reconnecting"`, which tells the events of a client apart. */
  declare readonly type: "reconnecting";
  /** Which attempt of this round is about to start, from 1. */
  readonly attempt: number;
  /** Milliseconds the client waits before the attempt. */
  readonly delayMs: number;

  /**
   * Creates the event.
   *
   * @param init The server, the attempt number and its delay.
   */
  constructor(init: RedisReconnectingEventInit) {
    super("reconnecting", init);
    this.attempt = init.attempt;
    this.delayMs = init.delayMs;
  }
}

/** What a {@linkcode RedisErrorEvent} carries. */
export interface RedisErrorEventInit extends RedisEventInit {
  /** What went wrong. */
  error: Error;
}

/**
 * Dispatched as `error` when an attempt to connect fails (the server cannot
 * be reached, or refuses the credentials). No command's promise carries
 * this error by itself when the attempt ran in the background, so this
 * event is where to hear of it. Having no listener is fine.
 *
 * @example Count failed attempts
 * ```ts
 * import { RedisClient } from "@x/redis-subjects";
 *
 * const client = new RedisClient("redis://localhost:6379/0");
 * client.addEventListener("error", (event) => {
 *   console.error(`${event.address}: ${event.error.message}`);
 * });
 * ```
 */
export class RedisErrorEvent extends RedisEvent {
  /** Always `"error"`, which tells the events of a client apart. */
  declare readonly type: "error";
  /** What went wrong; its message never contains credentials. */
  readonly error: Error;

  /**
   * Creates the event.
   *
   * @param init The server and the error.
   */
  constructor(init: RedisErrorEventInit) {
    super("error", init);
    this.error = init.error;
  }
}

/** The events of a Redis client by type, for typed listeners. */
export interface RedisClientEventMap {
  /** A connection is up. */
  connect: RedisConnectEvent;
  /** A connection that was up has ended. */
  disconnect: RedisDisconnectEvent;
  /** An attempt to replace a lost connection is about to start. */
  reconnecting: RedisReconnectingEvent;
  /** An attempt to connect failed. */
  error: RedisErrorEvent;
}

/** Any of the events in {@linkcode RedisClientEventMap}. */
export type RedisClientEvent = RedisClientEventMap[keyof RedisClientEventMap];

/** The event types a client dispatches. */
export const REDIS_CLIENT_EVENT_TYPES: readonly (keyof RedisClientEventMap)[] =
  ["connect", "disconnect", "reconnecting", "error"];

/**
 * An `EventTarget` whose listeners for the client events are typed: the
 * base of every client in this module.
 *
 * @example A typed listener
 * ```ts
 * import { RedisClient } from "@x/redis-subjects";
 *
 * const client = new RedisClient("redis://localhost:6379/0");
 * client.addEventListener("reconnecting", (event) => {
 *   console.log(event.attempt, event.delayMs); // typed as RedisReconnectingEvent
 * });
 * ```
 */
export class RedisEventTarget extends EventTarget {
  // One generic signature, not an overload beside EventTarget's
  // `(type: string, …)`: a misspelt type ("reconect") then fails to compile,
  // and the error names the types that exist. The class still is an
  // EventTarget, so code that takes one (and listens by name) accepts it.
  /**
   * Adds a listener for one of the client events; the event it receives is
   * typed, and a type the client never dispatches does not compile.
   *
   * @typeParam K The event type.
   * @param type `connect`, `disconnect`, `reconnecting` or `error`.
   * @param listener Called with the typed event (a function, or an object
   *   with `handleEvent`).
   * @param options As for `EventTarget.addEventListener`.
   */
  override addEventListener<K extends keyof RedisClientEventMap>(
    type: K,
    listener:
      | ((event: RedisClientEventMap[K]) => void)
      | { handleEvent(event: RedisClientEventMap[K]): void }
      | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener as EventListener | null, options);
  }

  /**
   * Removes a listener added with {@linkcode RedisEventTarget.addEventListener}.
   *
   * @typeParam K The event type.
   * @param type The event type it was added for.
   * @param listener The listener.
   * @param options As for `EventTarget.removeEventListener`.
   */
  override removeEventListener<K extends keyof RedisClientEventMap>(
    type: K,
    listener:
      | ((event: RedisClientEventMap[K]) => void)
      | { handleEvent(event: RedisClientEventMap[K]): void }
      | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener as EventListener | null, options);
  }
}

/**
 * Passes every client event of `source` on to `target`, as a fresh copy
 * (an event is dispatched by one target only). The cluster client uses this
 * for its nodes and the Sentinel client for its master: each copy still
 * names the node in `address`.
 *
 * @param source The node's client.
 * @param target The client that re-dispatches.
 */
export function forwardClientEvents(
  source: EventTarget,
  target: EventTarget,
): void {
  const copy = (event: Event): void => {
    const e = event as RedisClientEvent;
    const Ctor = e.constructor as new (init: RedisClientEvent) => Event;
    target.dispatchEvent(new Ctor(e));
  };
  for (const type of REDIS_CLIENT_EVENT_TYPES) {
    source.addEventListener(type, copy);
  }
}
