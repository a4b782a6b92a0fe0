/**
 * A Redis Cluster client: one auto-pipelined {@linkcode RedisClient} per
 * master, each command routed by its key's hash slot, redirects followed.
 *
 * @module
 */

import { backoffDelay, sleep } from "../async/backoff.ts";
import { RedisClient, type RedisClientOptions } from "./client.ts";
import { commandSlot, SLOT_COUNT } from "./_slot.ts";
import { RedisConnectionError, RedisError, RedisReplyError } from "./errors.ts";
import { forwardClientEvents, RedisEventTarget } from "./events.ts";
import type { RedisArg, RedisReply, RedisSender } from "./types.ts";
import { parseRedisUrl, redactUrl } from "./url.ts";

/** Options of {@linkcode createRedisClusterClient}. */
export interface RedisClusterClientOptions extends RedisClientOptions {
  /**
   * `MOVED`, `ASK` and `TRYAGAIN` redirects one command may follow before it
   * rejects; a healthy cluster needs one or two while slots migrate.
   *
   * @default {16}
   */
  maxRedirects?: number;
  /**
   * How each node's connection reconnects after a drop. Fewer attempts than a
   * single-server client makes, so commands for a dead master's slots reject
   * quickly instead of waiting out a long backoff.
   *
   * @default {{ maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 500 }}
   */
  reconnect?: RedisClientOptions["reconnect"];
}

/** Counters of what a cluster client has done, for tests and monitoring. */
export interface RedisClusterClientStats {
  /** Commands written to any node's socket, redirected retries included. */
  readonly commands: number;
  /** Socket writes over all nodes. */
  readonly writes: number;
  /** Successful reconnects over all nodes. */
  readonly reconnects: number;
  /** `MOVED` redirects followed. */
  readonly moved: number;
  /** `ASK` redirects followed. */
  readonly ask: number;
  /** Times the slot map was read from the cluster, the first time included. */
  readonly refreshes: number;
}

/** One cluster node and the connection to it. */
interface ClusterNode {
  /** `host:port`, as the cluster names the node. */
  readonly address: string;
  readonly client: RedisClient;
  /** `performance.now()` of its last connection failure, for ordering refresh candidates. */
  failedAt: number;
}

interface Seed {
  readonly hostname: string;
  readonly port: number;
}

const DEFAULT_RECONNECT = { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 500 };
const DEFAULT_MAX_REDIRECTS = 16;
/** A multi-key command during a slot migration waits 10–50 ms before it tries again. */
const TRYAGAIN_BACKOFF = { baseMs: 50, maxMs: 50, floor: 0.2 };
/** A refresh for a connection failure waits this long after the previous one. */
const FAILURE_REFRESH_GAP_MS = 1000;

/**
 * A client for Redis Cluster that implements {@linkcode RedisSender}, so
 * the storage runs on a cluster unchanged.
 *
 * It reads the slot map with `CLUSTER SLOTS`, keeps one auto-pipelined
 * connection per master, and sends each command to the master owning its
 * key's hash slot: `args[1]` for most commands, the first key after
 * `numkeys` for `EVAL`, `EVALSHA` and `FCALL`. Keyless commands go to any
 * master. It follows `MOVED` (updating the map) and `ASK` (sending `ASKING`
 * right before the command on the target's connection), up to `maxRedirects`.
 *
 * Commands for the slots of an unreachable master reject with
 * {@linkcode RedisConnectionError}; other slots keep working. Transactions
 * (`MULTI`/`EXEC`, `WATCH`) are not routed as a unit; use Lua scripts, which
 * are atomic and routed by their key.
 *
 * Create one with {@linkcode createRedisClusterClient}.
 *
 * @example Route commands by key
 * ```ts ignore
 * import { createRedisClusterClient } from "@x/redis-subjects";
 *
 * await using cluster = await createRedisClusterClient([
 *   "redis://10.0.0.1:7000",
 *   "redis://10.0.0.2:7000",
 * ]);
 * await cluster.send(["HSET", "s:app:user-1", "pname", '"Ada"']);
 * console.log(await cluster.send(["HGET", "s:app:user-1", "pname"])); // "\"Ada\""
 * ```
 */
export class RedisClusterClient extends RedisEventTarget
  implements RedisSender, AsyncDisposable {
  readonly #seeds: Seed[];
  readonly #seedUrls: string[];
  readonly #seedLabel: string;
  /** `redis[s]://[user:password@]`, the scheme and credentials every node shares. */
  readonly #urlPrefix: string;
  readonly #nodeOptions: RedisClientOptions;
  readonly #maxRedirects: number;
  /** The owner of each slot; `undefined` until the map is read. */
  #slots: (ClusterNode | undefined)[] = new Array(SLOT_COUNT);
  readonly #nodes = new Map<string, ClusterNode>();
  #masters: ClusterNode[] = [];
  /** Round-robin position for keyless commands. */
  #next = 0;
  #refreshing: Promise<void> | null = null;
  #refreshAgain = false;
  #preferred: ClusterNode | undefined;
  #lastRefreshAt = -Infinity;
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #counts = { moved: 0, ask: 0, refreshes: 0 };
  /** Counters of node clients that were closed, so `stats` never goes back. */
  readonly #retired = { commands: 0, writes: 0, reconnects: 0 };

  /**
   * Creates a cluster client that has not read the slot map yet; call
   * {@linkcode RedisClusterClient.connect} (or use
   * {@linkcode createRedisClusterClient}) before sending.
   *
   * @param seeds URLs of one or more cluster nodes. Scheme, user name and
   * password of the first apply to every node.
   * @param options Per-node client options, plus `maxRedirects`.
   * @throws {TypeError} when a URL or an option is invalid.
   */
  constructor(
    seeds: readonly (string | URL)[] | string | URL,
    options: RedisClusterClientOptions = {},
  ) {
    super();
    const list = typeof seeds === "string" || seeds instanceof URL
      ? [seeds]
      : [...seeds];
    if (list.length === 0) {
      throw new TypeError(
        "createRedisClusterClient needs at least one seed URL, e.g. redis://127.0.0.1:7000.",
      );
    }
    this.#seeds = list.map((seed) => {
      const endpoint = parseRedisUrl(seed);
      if (endpoint.db !== 0) {
        throw new TypeError(
          `Redis URL "${endpoint.redacted}" selects database ${endpoint.db}; Redis Cluster has only database 0.`,
        );
      }
      return { hostname: endpoint.hostname, port: endpoint.port };
    });
    this.#seedUrls = list.map((s) => redactUrl(s));
    this.#seedLabel = this.#seedUrls.join(", ");
    const first = new URL(typeof list[0] === "string" ? list[0] : list[0].href);
    const auth = userinfo(first);
    this.#urlPrefix = `${first.protocol}//${auth}`;
    const { maxRedirects, ...clientOptions } = options;
    if (
      maxRedirects !== undefined &&
      (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0)
    ) {
      throw new TypeError(
        `maxRedirects must be an integer ≥ 0, got ${maxRedirects}.`,
      );
    }
    this.#maxRedirects = maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    this.#nodeOptions = {
      ...clientOptions,
      reconnect: clientOptions.reconnect ?? DEFAULT_RECONNECT,
    };
    // Fail on bad client options now, before any connection.
    new RedisClient(this.#nodeUrl(this.#seeds[0]), this.#nodeOptions);
  }

  /** The seed URLs, passwords replaced by `***`. */
  get urls(): string[] {
    return [...this.#seedUrls];
  }

  /** The masters' URLs, passwords replaced by `***`, as of the last slot map. */
  get masters(): string[] {
    return this.#masters.map((node) => node.client.url);
  }

  /** Counts of commands, writes, reconnects, redirects and map refreshes so far. */
  get stats(): RedisClusterClientStats {
    const totals = { ...this.#retired };
    for (const node of this.#nodes.values()) {
      const s = node.client.stats;
      totals.commands += s.commands;
      totals.writes += s.writes;
      totals.reconnects += s.reconnects;
    }
    return { ...totals, ...this.#counts };
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads the slot map from the first seed that answers and connects to
   * every master.
   *
   * @returns This client, ready to send.
   * @throws {RedisConnectionError} when no seed can be reached.
   * @throws {RedisReplyError} when a seed refuses the credentials or is not in cluster mode.
   */
  async connect(): Promise<this> {
    await this.#discover([]);
    await Promise.allSettled(
      this.#masters.map((node) => node.client.connect()),
    );
    return this;
  }

  /**
   * Sends one command to the master that owns its key's slot, following
   * redirects. Commands for one master sent in the same tick leave in one write.
   *
   * @param args The command and its arguments, e.g. `["HGET", key, field]`.
   * @returns The decoded reply.
   * @throws {RedisReplyError} when the server answers with an error other than a redirect.
   * @throws {RedisConnectionError} when the owning master cannot be reached, or the client is closed.
   * @throws {RedisTimeoutError} when no reply arrives within `commandTimeoutMs`.
   * @throws {RedisError} when the command was redirected more than `maxRedirects` times.
   */
  send(args: readonly RedisArg[]): Promise<RedisReply> {
    if (this.#closed) return Promise.reject(this.#closedError());
    let slot: number;
    try {
      slot = commandSlot(args);
    } catch (error) {
      return Promise.reject(error);
    }
    // A slot no master serves goes to any master, whose CLUSTERDOWN reply
    // tells the caller what the cluster thinks.
    const node = slot === -1
      ? this.#anyMaster()
      : this.#slots[slot] ?? this.#anyMaster();
    if (node === undefined) {
      return Promise.reject(
        new RedisConnectionError(
          `The cluster client for ${this.#seedLabel} has no slot map yet; call connect() first.`,
        ),
      );
    }
    return node.client.send(args).catch((error) =>
      this.#recover(error, args, node)
    );
  }

  /**
   * Reads the slot map again now. Redirects and connection failures do this
   * by themselves; call it after changing the cluster's layout yourself.
   *
   * @throws {RedisConnectionError} when no node can be reached.
   */
  async refresh(): Promise<void> {
    while (this.#refreshing !== null) await this.#refreshing;
    if (this.#closed) throw this.#closedError();
    const run = this.#discover([]);
    this.#refreshing = this.#settleRefresh(run);
    await run;
  }

  /**
   * Waits for every reply still due, then closes every connection. Commands
   * sent afterwards reject with `RedisConnectionError`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Same as {@linkcode RedisClusterClient.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Describes the client by its redacted seed URLs. */
  override toString(): string {
    return `RedisClusterClient(${this.#seedLabel})`;
  }

  /** Keeps `JSON.stringify` to the redacted URLs. */
  toJSON(): { urls: string[]; masters: string[] } {
    return { urls: this.urls, masters: this.masters };
  }

  /** Shows only redacted URLs and state in `console.log` and `Deno.inspect`. */
  [Symbol.for("Deno.customInspect")](): string {
    return `RedisClusterClient { urls: ${JSON.stringify(this.urls)}, masters: ${
      JSON.stringify(this.masters)
    }, state: "${this.#closed ? "closed" : "open"}" }`;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    while (this.#refreshing !== null) await this.#refreshing;
    const nodes = [...this.#nodes.values()];
    this.#nodes.clear();
    await Promise.all(nodes.map((node) => this.#retire(node)));
  }

  #closedError(): RedisConnectionError {
    return new RedisConnectionError(
      `The cluster client for ${this.#seedLabel} is closed; create a new one.`,
    );
  }

  #anyMaster(): ClusterNode | undefined {
    const masters = this.#masters;
    if (masters.length === 0) return undefined;
    this.#next = (this.#next + 1) % masters.length;
    return masters[this.#next];
  }

  /** Handles a failed command: follows redirects, refreshes the map on failures. */
  async #recover(
    error: unknown,
    args: readonly RedisArg[],
    node: ClusterNode,
  ): Promise<RedisReply> {
    for (let redirects = 0;; redirects++) {
      if (!(error instanceof RedisReplyError)) {
        if (error instanceof RedisConnectionError && !this.#closed) {
          node.failedAt = performance.now();
          // A failover may have moved the slots elsewhere.
          if (
            performance.now() - this.#lastRefreshAt >= FAILURE_REFRESH_GAP_MS
          ) {
            this.#scheduleRefresh(undefined);
          }
        }
        throw error;
      }
      const { code } = error;
      if (code !== "MOVED" && code !== "ASK" && code !== "TRYAGAIN") {
        if (code === "CLUSTERDOWN" && !this.#closed) {
          this.#scheduleRefresh(undefined);
        }
        throw error;
      }
      if (this.#closed) throw this.#closedError();
      let target = node;
      let ask = false;
      if (code !== "TRYAGAIN") {
        const { slot, hostname, port } = parseRedirect(error);
        // An unknown endpoint ("" or "?") means "the host that answered".
        target = this.#nodeAt(
          joinAddress(
            hostname === "" || hostname === "?"
              ? splitAddress(node.address).hostname
              : hostname,
            port,
          ),
        );
        if (code === "MOVED" && this.#slots[slot] !== target) {
          // Learnt even when the command may not follow it.
          this.#slots[slot] = target;
          // One slot moving usually means a resharding: fetch the whole
          // map, from the node that now owns this slot.
          this.#scheduleRefresh(target);
        }
        ask = code === "ASK";
      }
      if (redirects >= this.#maxRedirects) {
        throw new RedisError(
          `${
            String(args[0]).toUpperCase()
          } did not reach its slot's owner within maxRedirects (${this.#maxRedirects}); the last reply was ${
            redirectText(error)
          }. If the cluster's slot map keeps changing, check CLUSTER SLOTS on ${this.#seedLabel}.`,
          { cause: error },
        );
      }
      let reply: Promise<RedisReply>;
      if (code === "TRYAGAIN") {
        // A multi-key command during a slot migration: the keys are split
        // between two nodes for a moment.
        await sleep(backoffDelay(1, TRYAGAIN_BACKOFF));
        if (this.#closed) throw this.#closedError();
        // Looked up again: a refresh meanwhile may have replaced the node.
        node = this.#nodeAt(node.address);
        reply = node.client.send(args);
      } else if (ask) {
        this.#counts.ask++;
        node = target;
        // Both are queued in this tick on one connection, so ASKING is
        // immediately followed by the command, as the target requires.
        target.client.send(["ASKING"]).catch(() => {});
        reply = target.client.send(args);
      } else {
        this.#counts.moved++;
        node = target;
        reply = target.client.send(args);
      }
      try {
        return await reply;
      } catch (next) {
        error = next;
      }
    }
  }

  /**
   * Starts a map refresh, or asks for one more after the running one, which
   * may have read the map before the change that prompted this call.
   */
  #scheduleRefresh(preferred: ClusterNode | undefined): void {
    if (this.#closed) return;
    if (preferred !== undefined) this.#preferred = preferred;
    if (this.#refreshing !== null) {
      this.#refreshAgain = true;
      return;
    }
    this.#refreshAgain = false;
    const first = this.#preferred;
    this.#preferred = undefined;
    this.#refreshing = this.#settleRefresh(
      this.#discover(first === undefined ? [] : [first]),
    );
  }

  /** Clears `#refreshing` when `run` settles, and starts the refresh asked for meanwhile. */
  async #settleRefresh(run: Promise<void>): Promise<void> {
    try {
      await run;
    } catch {
      // Commands report their own failures; the next trigger tries again.
    }
    this.#refreshing = null;
    if (this.#refreshAgain && !this.#closed) this.#scheduleRefresh(undefined);
  }

  /**
   * Reads `CLUSTER SLOTS` from the first node that answers, trying the given
   * nodes, then known masters (those that failed last at the end), then seeds.
   */
  async #discover(first: ClusterNode[]): Promise<void> {
    this.#lastRefreshAt = performance.now();
    const masters = [...this.#masters].sort((a, b) => a.failedAt - b.failedAt);
    // Seeds last, and only made into nodes when reached: most refreshes are
    // answered by the first master asked.
    const candidates: (ClusterNode | Seed)[] = [
      ...new Set([...first, ...masters]),
      ...this.#seeds,
    ];
    const tried = new Set<ClusterNode>();
    let lastError: unknown;
    for (const candidate of candidates) {
      if (this.#closed) throw this.#closedError();
      const node = "client" in candidate
        ? candidate
        : this.#nodeAt(joinAddress(candidate.hostname, candidate.port));
      if (tried.has(node)) continue;
      tried.add(node);
      let reply: RedisReply;
      try {
        reply = await node.client.send(["CLUSTER", "SLOTS"]);
      } catch (error) {
        // A refused handshake (AUTH, say) has no command and says it all.
        if (error instanceof RedisReplyError && error.command === undefined) {
          throw error;
        }
        if (error instanceof RedisReplyError) {
          throw new RedisReplyError(
            error.message.replace(/ \(command: [^)]*\)$/, ""),
            "CLUSTER SLOTS",
            `${node.client.url} cannot tell the cluster's slot map${
              /cluster support disabled/i.test(error.message)
                ? " because it is not in cluster mode; use createRedisClient for a single server"
                : ""
            }`,
          );
        }
        if (error instanceof Deno.errors.NotCapable) throw error;
        node.failedAt = performance.now();
        lastError = error;
        continue;
      }
      this.#counts.refreshes++;
      await this.#apply(reply, node);
      return;
    }
    if (this.#closed) throw this.#closedError();
    throw new RedisConnectionError(
      `Cannot read the slot map of the cluster at ${this.#seedLabel}: ${
        lastError instanceof Error ? lastError.message : String(lastError)
      }`,
      { cause: lastError },
    );
  }

  /** Installs a `CLUSTER SLOTS` reply as the slot map. */
  async #apply(reply: RedisReply, from: ClusterNode): Promise<void> {
    if (!Array.isArray(reply)) {
      throw new RedisConnectionError(
        `${from.client.url} answered CLUSTER SLOTS with ${
          JSON.stringify(reply)
        }, not a slot map.`,
      );
    }
    const fromHost = splitAddress(from.address).hostname;
    // Slots missing from the reply keep their last known owner: commands for
    // them then fail (or get redirected) there, rather than going astray.
    const slots = this.#slots.slice();
    const masters = new Set<ClusterNode>();
    for (const range of reply) {
      if (!Array.isArray(range) || range.length < 3) continue;
      const [start, end, master] = range;
      if (
        typeof start !== "number" || typeof end !== "number" ||
        !Array.isArray(master)
      ) {
        continue;
      }
      const [host, port] = master;
      if (typeof port !== "number") continue;
      // An unknown endpoint ("" or "?", or nil) means "the host you asked".
      const hostname = typeof host === "string" && host !== "" && host !== "?"
        ? host
        : fromHost;
      const node = this.#nodeAt(joinAddress(hostname, port));
      masters.add(node);
      for (let slot = start; slot <= end && slot < SLOT_COUNT; slot++) {
        slots[slot] = node;
      }
    }
    if (masters.size === 0) {
      throw new RedisConnectionError(
        `${from.client.url} answered CLUSTER SLOTS with no assigned slots; is the cluster set up?`,
      );
    }
    this.#slots = slots;
    this.#masters = [...masters];
    // Close connections to nodes that own no slot any more (old seeds,
    // masters that were emptied or demoted); their replies still arrive.
    const owners = new Set(slots);
    const retiring: ClusterNode[] = [];
    for (const [address, node] of this.#nodes) {
      if (!owners.has(node)) {
        this.#nodes.delete(address);
        retiring.push(node);
      }
    }
    await Promise.all(retiring.map((node) => this.#retire(node)));
  }

  async #retire(node: ClusterNode): Promise<void> {
    await node.client.close();
    const s = node.client.stats;
    this.#retired.commands += s.commands;
    this.#retired.writes += s.writes;
    this.#retired.reconnects += s.reconnects;
  }

  /** The node at `address`, with a (lazily connecting) client made on first use. */
  #nodeAt(address: string): ClusterNode {
    let node = this.#nodes.get(address);
    if (node === undefined) {
      if (this.#closed) throw this.#closedError();
      const { hostname, port } = splitAddress(address);
      node = {
        address,
        client: new RedisClient(
          this.#nodeUrl({ hostname, port }),
          this.#nodeOptions,
        ),
        failedAt: -Infinity,
      };
      this.#nodes.set(address, node);
      // Each node's events reach the cluster's listeners, naming the node.
      forwardClientEvents(node.client, this);
    }
    return node;
  }

  #nodeUrl({ hostname, port }: Seed): string {
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    return `${this.#urlPrefix}${host}:${port}`;
  }
}

/**
 * Connects to a Redis Cluster: reads the slot map from the first seed that
 * answers and opens one auto-pipelined connection per master.
 *
 * @param seeds URLs of one or more cluster nodes, e.g. every master's. The
 * scheme (`rediss://` for TLS), user name and password of the first apply to
 * every node; the database must be 0.
 * @param options Per-node client options (timeouts, TLS, client name,
 * reconnect policy) and `maxRedirects`.
 * @returns The connected cluster client. Close it with `close()` or `await using`.
 * @throws {TypeError} when a URL or an option is invalid (nothing is connected).
 * @throws {RedisConnectionError} when no seed can be reached.
 * @throws {RedisReplyError} when a seed refuses the credentials or is not in cluster mode.
 *
 * @example Store subjects on a cluster
 * ```ts ignore
 * import {
 *   createRedisClusterClient,
 *   createRedisStorage,
 *   KRules,
 * } from "@x/redis-subjects";
 *
 * await using cluster = await createRedisClusterClient(
 *   ["redis://:secret@10.0.0.1:7000", "redis://:secret@10.0.0.2:7000"],
 *   { commandTimeoutMs: 2000 },
 * );
 * const krules = new KRules({ storage: createRedisStorage(cluster) });
 * await krules.subject("user-123").set("name", "Ada", { useCache: false });
 * ```
 */
export async function createRedisClusterClient(
  seeds: readonly (string | URL)[] | string | URL,
  options?: RedisClusterClientOptions,
): Promise<RedisClusterClient> {
  const client = new RedisClusterClient(seeds, options);
  try {
    await client.connect();
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

/** The percent-encoded `user:password@` part of a URL, or "". */
function userinfo(url: URL): string {
  if (url.username === "" && url.password === "") return "";
  return `${url.username}:${url.password}@`;
}

function joinAddress(hostname: string, port: number): string {
  return `${hostname}:${port}`;
}

/** Splits `host:port`; the host may be an IPv6 address with colons of its own. */
function splitAddress(address: string): Seed {
  const colon = address.lastIndexOf(":");
  let hostname = address.slice(0, colon);
  if (hostname.startsWith("[") && hostname.endsWith("]")) {
    hostname = hostname.slice(1, -1);
  }
  return { hostname, port: Number(address.slice(colon + 1)) };
}

/** The reply text of a redirect, without the "(command: …)" suffix. */
function redirectText(error: RedisReplyError): string {
  return error.message.replace(/ \(command: [^)]*\)$/, "");
}

/** Reads `MOVED 3999 127.0.0.1:6381` or `ASK 3999 127.0.0.1:6381`. */
function parseRedirect(
  error: RedisReplyError,
): { slot: number; hostname: string; port: number } {
  const match = /^(?:MOVED|ASK) (\d+) (\S*:\d+)$/.exec(redirectText(error));
  if (match === null) throw error;
  return { slot: Number(match[1]), ...splitAddress(match[2]) };
}
