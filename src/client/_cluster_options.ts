/**
 * The options of `RedisClusterClient`, checked, and what follows from them:
 * the seeds, the options and URL of each node's client.
 *
 * @module
 */

import { RedisClient, type RedisClientOptions } from "./client.ts";
import type { NodeAddress } from "./_slot_map.ts";
import { parseRedisUrl, redactUrl } from "./url.ts";

/** Options of {@linkcode createRedisClusterClient}. */
export interface RedisClusterClientOptions extends RedisClientOptions {
  /**
   * `MOVED` and `ASK` redirects one command may follow before it rejects; a
   * healthy cluster needs one or two while slots migrate.
   *
   * @default {16}
   */
  maxRedirects?: number;
  /**
   * Milliseconds between reads of the slot map in the background, so a
   * failover is learnt even when no command failed; 0 turns it off. The map
   * is also read after redirects, connection errors, timeouts and
   * `CLUSTERDOWN`, at most once per 500 ms.
   *
   * @default {5000}
   */
  slotsRefreshIntervalMs?: number;
  /**
   * How each node's connection reconnects after a drop. Fewer attempts than a
   * single-server client makes, so commands for a dead master's slots reject
   * quickly instead of waiting out a long backoff. Defaults to
   * `{ maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 500 }`.
   */
  reconnect?: RedisClientOptions["reconnect"];
}

const DEFAULT_RECONNECT = { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 500 };
const DEFAULT_MAX_REDIRECTS = 16;
const DEFAULT_SLOTS_REFRESH_INTERVAL_MS = 5000;

/** A cluster client's options, checked, and the settings derived from them. */
export interface ClusterSettings {
  /** Where to read the slot map first. */
  readonly seeds: NodeAddress[];
  /** The seeds' URLs, passwords replaced by `***`. */
  readonly seedUrls: string[];
  /** The options of each node's client. */
  readonly nodeOptions: RedisClientOptions;
  readonly maxRedirects: number;
  readonly refreshIntervalMs: number;
  /** Milliseconds a command may take, retries included; 0 waits forever. */
  readonly timeoutMs: number;
  /**
   * The URL of a node: the scheme and credentials of the first seed, which
   * every node shares.
   *
   * @param address The node.
   */
  nodeUrl(address: NodeAddress): string;
}

/**
 * Checks a cluster client's arguments, before anything connects.
 *
 * @param seeds The seeds' URLs, as given.
 * @param options The options, as given.
 * @returns The settings the client runs with.
 * @throws {TypeError} when a URL or an option is invalid.
 */
export function clusterSettings(
  seeds: readonly (string | URL)[] | string | URL,
  options: RedisClusterClientOptions | undefined,
): ClusterSettings {
  const list = typeof seeds === "string" || seeds instanceof URL
    ? [seeds]
    : [...seeds];
  if (list.length === 0) {
    throw new TypeError(
      "createRedisClusterClient needs at least one seed URL, e.g. redis://127.0.0.1:7000.",
    );
  }
  const addresses = list.map((seed) => {
    const endpoint = parseRedisUrl(seed);
    if (endpoint.db !== 0) {
      throw new TypeError(
        `Redis URL "${endpoint.redacted}" selects database ${endpoint.db}; Redis Cluster has only database 0.`,
      );
    }
    return { hostname: endpoint.hostname, port: endpoint.port };
  });
  const seedUrls = list.map((s) => redactUrl(s));
  const first = new URL(typeof list[0] === "string" ? list[0] : list[0].href);
  const urlPrefix = `${first.protocol}//${userinfo(first)}`;
  const nodeUrl = ({ hostname, port }: NodeAddress): string => {
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    return `${urlPrefix}${host}:${port}`;
  };
  const { maxRedirects, slotsRefreshIntervalMs, ...clientOptions } = options ??
    {};
  if (
    maxRedirects !== undefined &&
    (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0)
  ) {
    throw new TypeError(
      `maxRedirects must be an integer ≥ 0, got ${maxRedirects}.`,
    );
  }
  const interval = slotsRefreshIntervalMs ?? DEFAULT_SLOTS_REFRESH_INTERVAL_MS;
  if (
    typeof interval !== "number" || !Number.isFinite(interval) || interval < 0
  ) {
    throw new TypeError(
      `slotsRefreshIntervalMs must be a number ≥ 0, got ${slotsRefreshIntervalMs}.`,
    );
  }
  const nodeOptions = {
    ...clientOptions,
    reconnect: clientOptions.reconnect ?? DEFAULT_RECONNECT,
  };
  // Fail on bad client options now, before any connection.
  new RedisClient(nodeUrl(addresses[0]), nodeOptions);
  return {
    seeds: addresses,
    seedUrls,
    nodeOptions,
    maxRedirects: maxRedirects ?? DEFAULT_MAX_REDIRECTS,
    refreshIntervalMs: interval,
    timeoutMs: clientOptions.commandTimeoutMs ?? 5000,
    nodeUrl,
  };
}

/** The percent-encoded `user:password@` part of a URL, or "". */
function userinfo(url: URL): string {
  if (url.username === "" && url.password === "") return "";
  return `${url.username}:${url.password}@`;
}
