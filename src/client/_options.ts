/**
 * The options of `RedisClient` and their checks: every option is checked,
 * and given its default, before anything connects.
 *
 * @module
 */

import type { TelemetryOptions } from "../telemetry/client_telemetry.ts";

/** How the client reconnects after the connection drops. */
export interface ReconnectOptions {
  /**
   * Connection attempts after a drop before waiting commands reject with
   * `RedisConnectionError`. The next command starts a new round.
   *
   * @default {20}
   */
  maxAttempts?: number;
  /**
   * Delay before the second attempt; it doubles with every attempt, with
   * jitter, up to `maxDelayMs`. The first attempt is immediate.
   *
   * @default {50}
   */
  baseDelayMs?: number;
  /**
   * Longest delay between two attempts.
   *
   * @default {2000}
   */
  maxDelayMs?: number;
}

/** Options of {@linkcode createRedisClient}. */
export interface RedisClientOptions {
  /**
   * Milliseconds to open the socket and finish the handshake (TLS, `AUTH`,
   * `SELECT`, `CLIENT SETNAME`).
   *
   * @default {5000}
   */
  connectTimeoutMs?: number;
  /**
   * Milliseconds a call may take, from `send()` until it settles, time spent
   * waiting for a (re)connect included; `0` waits forever. A command that
   * was sent and got no reply in time rejects with `RedisTimeoutError`; one
   * that never got a connection rejects with `RedisConnectionError`.
   *
   * @default {5000}
   */
  commandTimeoutMs?: number;
  /**
   * Commands that may wait for a connection while the client is
   * disconnected or reconnecting. Past this bound `send()` rejects at once
   * with `RedisConnectionError`; each waiting command still rejects when its
   * `commandTimeoutMs` runs out.
   *
   * @default {10000}
   */
  maxPendingCommands?: number;
  /** TLS settings for `rediss://` URLs. */
  tls?: {
    /** PEM certificates trusted in addition to the system's roots. */
    caCerts?: string[];
  };
  /** Name sent with `CLIENT SETNAME` on every (re)connect, shown by `CLIENT LIST`. */
  clientName?: string;
  /**
   * Reconnect after a dropped connection, or `false` to let every later
   * command reject instead. Defaults to
   * `{ maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 2000 }`.
   */
  reconnect?: false | ReconnectOptions;
  /** What command spans record when Deno exports telemetry (`OTEL_DENO=true`). */
  telemetry?: TelemetryOptions;
}

/** The options of a client, checked and with their defaults filled in. */
export interface Settings {
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  maxPendingCommands: number;
  caCerts: string[] | undefined;
  clientName: string | undefined;
  reconnect: Required<ReconnectOptions> | false;
}

/**
 * Checks every option and fills in the defaults.
 *
 * @param options The options as given.
 * @returns The settings the client runs with.
 * @throws {TypeError} when an option is invalid.
 */
export function checkOptions(options: RedisClientOptions): Settings {
  const connectTimeoutMs = checkNumber(
    "connectTimeoutMs",
    options.connectTimeoutMs,
    5000,
    1,
  );
  const commandTimeoutMs = checkNumber(
    "commandTimeoutMs",
    options.commandTimeoutMs,
    5000,
    0,
  );
  const maxPendingCommands = checkNumber(
    "maxPendingCommands",
    options.maxPendingCommands,
    10_000,
    1,
  );
  if (!Number.isSafeInteger(maxPendingCommands)) {
    throw new TypeError(
      `maxPendingCommands must be an integer ≥ 1, got ${maxPendingCommands}.`,
    );
  }
  const caCerts = options.tls?.caCerts;
  if (
    caCerts !== undefined &&
    (!Array.isArray(caCerts) || caCerts.some((c) => typeof c !== "string"))
  ) {
    throw new TypeError("tls.caCerts must be an array of PEM strings.");
  }
  if (
    options.clientName !== undefined && !/^[!-~]+$/.test(options.clientName)
  ) {
    throw new TypeError(
      "clientName must be printable ASCII without spaces, as CLIENT SETNAME requires.",
    );
  }
  let reconnect: Settings["reconnect"] = false;
  if (options.reconnect !== false) {
    const r = options.reconnect ?? {};
    reconnect = {
      maxAttempts: checkNumber("reconnect.maxAttempts", r.maxAttempts, 20, 1),
      baseDelayMs: checkNumber("reconnect.baseDelayMs", r.baseDelayMs, 50, 0),
      maxDelayMs: checkNumber("reconnect.maxDelayMs", r.maxDelayMs, 2000, 0),
    };
  }
  return {
    connectTimeoutMs,
    commandTimeoutMs,
    maxPendingCommands,
    caCerts,
    clientName: options.clientName,
    reconnect,
  };
}

function checkNumber(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new TypeError(`${name} must be a number ≥ ${min}, got ${value}.`);
  }
  return value;
}
