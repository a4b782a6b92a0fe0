/**
 * The options of `RedisSentinelClient`, checked, and what follows from them:
 * the options of the master's client, of the Sentinel queries and of the
 * `ROLE` probes, and the URL of a data node.
 *
 * @module
 */

import { RedisClient, type RedisClientOptions } from "./client.ts";
import { parseRedisUrl, type RedisEndpoint } from "./url.ts";

/** Options of {@linkcode createRedisSentinelClient}. */
export interface RedisSentinelClientOptions extends RedisClientOptions {
  /** The name the Sentinels know the master by (`sentinel monitor <name> …`). */
  masterName: string;
  /** ACL user name on the data nodes; the Sentinels' own is in their URLs. */
  username?: string;
  /** Password of the data nodes; the Sentinels' own is in their URLs. */
  password?: string;
  /**
   * Database selected on the master.
   *
   * @default {0}
   */
  db?: number;
  /**
   * Whether the client refuses to start when no Sentinel accepts its
   * subscription to the failover events (an ACL without `+subscribe` or one
   * of the channels). Without them it cannot hold writes back during a
   * failover; set `false` to start anyway. A refusal is an `error` event
   * either way.
   *
   * @default {true}
   */
  requireFailoverEvents?: boolean;
}

/** A Sentinel client's options, checked, and the settings derived from them. */
export interface SentinelSettings {
  readonly masterName: string;
  /** The Sentinels' URLs as given, with their own credentials. */
  readonly sentinelUrls: readonly (string | URL)[];
  /** The same, parsed. */
  readonly sentinels: RedisEndpoint[];
  /** For the master's client: its reconnects are few, finding it again is the Sentinel client's job. */
  readonly nodeOptions: RedisClientOptions;
  /** For `ROLE` probes of a candidate master: short timeouts, no reconnects. */
  readonly probeOptions: RedisClientOptions;
  /** For the queries to the Sentinels. */
  readonly sentinelOptions: RedisClientOptions;
  /** Milliseconds a command may take, waiting for a master included; 0 waits forever. */
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly caCerts: string[] | undefined;
  readonly requireFailoverEvents: boolean;
  /**
   * The URL of a data node, with the data nodes' credentials and database.
   *
   * @param address `host:port`, as Sentinel names it.
   */
  nodeUrl(address: string): string;
}

/**
 * Checks a Sentinel client's arguments, before anything connects.
 *
 * @param sentinels The Sentinels' URLs, as given.
 * @param options The options, as given.
 * @returns The settings the client runs with.
 * @throws {TypeError} when a URL or an option is invalid.
 */
export function sentinelSettings(
  sentinels: readonly (string | URL)[] | string | URL,
  options: RedisSentinelClientOptions,
): SentinelSettings {
  const list = typeof sentinels === "string" || sentinels instanceof URL
    ? [sentinels]
    : [...sentinels];
  if (list.length === 0) {
    throw new TypeError(
      "createRedisSentinelClient needs at least one Sentinel URL, e.g. redis://127.0.0.1:26379.",
    );
  }
  const {
    masterName,
    username,
    password,
    db,
    requireFailoverEvents,
    ...clientOptions
  } = options ?? {} as RedisSentinelClientOptions;
  if (typeof masterName !== "string" || !/^\S+$/.test(masterName)) {
    throw new TypeError(
      "masterName must be the name the Sentinels monitor the master by (sentinel monitor <name> …), without spaces.",
    );
  }
  if (db !== undefined && (!Number.isSafeInteger(db) || db < 0)) {
    throw new TypeError(`db must be an integer ≥ 0, got ${db}.`);
  }
  for (
    const [name, value] of [["username", username], ["password", password]]
  ) {
    if (value !== undefined && typeof value !== "string") {
      throw new TypeError(`${name} must be a string.`);
    }
  }
  if (
    requireFailoverEvents !== undefined &&
    typeof requireFailoverEvents !== "boolean"
  ) {
    throw new TypeError("requireFailoverEvents must be true or false.");
  }
  const endpoints = list.map((url) => parseRedisUrl(url));
  const auth = password === undefined
    ? ""
    : `${encodeURIComponent(username ?? "")}:${encodeURIComponent(password)}@`;
  const urlPrefix = `${endpoints[0].tls ? "rediss" : "redis"}://${auth}`;
  const dbPath = `/${db ?? 0}`;
  const nodeUrl = (address: string): string => {
    const colon = address.lastIndexOf(":");
    const host = address.slice(0, colon);
    const port = address.slice(colon + 1);
    return `${urlPrefix}${
      host.includes(":") ? `[${host}]` : host
    }:${port}${dbPath}`;
  };
  const nodeOptions: RedisClientOptions = {
    ...clientOptions,
    // Reconnecting to a master that is gone is this client's job: it asks
    // the Sentinels where the master is now.
    reconnect: clientOptions.reconnect === false
      ? false
      : { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 200 },
  };
  // Fail on bad client options now, before any connection.
  new RedisClient(nodeUrl("127.0.0.1:6379"), nodeOptions);
  const connectTimeoutMs = clientOptions.connectTimeoutMs ?? 5000;
  const sentinelOptions: RedisClientOptions = {
    connectTimeoutMs,
    commandTimeoutMs: Math.min(connectTimeoutMs, 2000),
    tls: clientOptions.tls,
    reconnect: { maxAttempts: 1 },
  };
  return {
    masterName,
    sentinelUrls: list,
    sentinels: endpoints,
    nodeOptions,
    probeOptions: {
      ...nodeOptions,
      connectTimeoutMs: sentinelOptions.commandTimeoutMs,
      commandTimeoutMs: sentinelOptions.commandTimeoutMs,
      reconnect: false,
    },
    sentinelOptions,
    timeoutMs: clientOptions.commandTimeoutMs ?? 5000,
    connectTimeoutMs,
    caCerts: clientOptions.tls?.caCerts,
    requireFailoverEvents: requireFailoverEvents ?? true,
    nodeUrl,
  };
}
