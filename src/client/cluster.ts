/**
 * A Redis Cluster client: one auto-pipelined {@linkcode RedisClient} per
 * master, each command routed by its key's hash slot, redirects followed.
 *
 * @module
 */

import { backoffDelay } from "../async/backoff.ts";
import { beforeDeadline } from "../async/deadline.ts";
import {
  newDedicatedClient,
  RedisClient,
  type RedisClientOptions,
} from "./client.ts";
import {
  clusterSettings,
  type RedisClusterClientOptions,
} from "./_cluster_options.ts";
import { commandSlot } from "./_slot.ts";
import {
  type ClusterNode,
  joinAddress,
  type NodeAddress,
  type NodePool,
  SlotMap,
  splitAddress,
} from "./_slot_map.ts";
import {
  notExecuted,
  RedisConnectionError,
  RedisError,
  RedisReplyError,
  RedisTimeoutError,
} from "./errors.ts";
import { forwardClientEvents, RedisEventTarget } from "./events.ts";
import { retryWithinDeadline, Unsent } from "./_retry.ts";
import { sendWithWait } from "./replication.ts";
import type { RedisArg, RedisReply, RedisSender } from "./types.ts";

export type { RedisClusterClientOptions } from "./_cluster_options.ts";

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

/**
 * The wait before a command that was not executed (`CLUSTERDOWN`,
 * `TRYAGAIN`, or no connection to its node) tries again: 25–50 ms at first,
 * doubling up to 250–500 ms, for as long as its deadline allows.
 */
const RETRY_BACKOFF = { baseMs: 50, maxMs: 500, floor: 0.5 };

type Operation = (client: RedisClient) => Promise<RedisReply>;

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
 * A command the cluster did not execute (`CLUSTERDOWN`, `TRYAGAIN`, or its
 * master could not be connected to) is sent again with backoff until its
 * deadline (`commandTimeoutMs`), by which time a failover has usually
 * promoted a replica; the slot map is read again after connection errors,
 * timeouts and `CLUSTERDOWN` (at most twice a second) and every
 * `slotsRefreshIntervalMs`. A command that was on the wire when its
 * connection failed, or timed out, is never sent again, since it may have
 * run; its caller gets the error. Other slots keep working. Transactions
 * (`MULTI`/`EXEC`, `WATCH`) are not routed as a unit; use Lua scripts, which
 * are atomic and routed by their key.
 *
 * Create one with {@linkcode createRedisClusterClient}.
 *
 * @example Route commands by key
 * ```ts
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
  readonly #seeds: NodeAddress[];
  readonly #seedUrls: string[];
  readonly #seedLabel: string;
  /** A node's URL, with the scheme and credentials every node shares. */
  readonly #nodeUrl: (address: NodeAddress) => string;
  readonly #nodeOptions: RedisClientOptions;
  readonly #maxRedirects: number;
  /** Milliseconds a command may take, retries included; 0 waits forever. */
  readonly #timeoutMs: number;
  /** The seeds and options as given, for `duplicate()`; never shown. */
  readonly #given: {
    seeds: readonly (string | URL)[] | string | URL;
    options: RedisClusterClientOptions;
  };
  /** Whether the node clients take every command (a `duplicate()`). */
  readonly #dedicated = dedicatingCluster;
  readonly #nodes = new Map<string, ClusterNode>();
  readonly #map: SlotMap;
  readonly #refreshIntervalMs: number;
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #counts = { moved: 0, ask: 0 };
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
    options?: RedisClusterClientOptions,
  ) {
    super();
    const settings = clusterSettings(seeds, options);
    this.#seeds = settings.seeds;
    this.#seedUrls = settings.seedUrls;
    this.#seedLabel = this.#seedUrls.join(", ");
    this.#nodeUrl = settings.nodeUrl;
    this.#given = { seeds, options: { ...options } };
    this.#maxRedirects = settings.maxRedirects;
    this.#refreshIntervalMs = settings.refreshIntervalMs;
    this.#timeoutMs = settings.timeoutMs;
    this.#nodeOptions = settings.nodeOptions;
    this.#map = new SlotMap(this.#pool());
  }

  /** The seed URLs, passwords replaced by `***`. */
  get urls(): string[] {
    return [...this.#seedUrls];
  }

  /** The masters' URLs, passwords replaced by `***`, as of the last slot map. */
  get masters(): string[] {
    return this.#map.masters.map((node) => node.client.url);
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
    return { ...totals, ...this.#counts, refreshes: this.#map.refreshes };
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
    await this.#map.refresh();
    this.#map.every(this.#refreshIntervalMs);
    await Promise.allSettled(
      this.#map.masters.map((node) => node.client.connect()),
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
    return this.#route(args, (client) => client.send(args));
  }

  /**
   * The library's private path for a write followed by `WAIT`, both on the
   * connection to the master that owns the write's slot.
   *
   * @ignore
   */
  [sendWithWait](
    args: readonly RedisArg[],
    replicas: number,
    timeoutMs: number,
  ): Promise<RedisReply> {
    return this.#route(
      args,
      (client) => client[sendWithWait](args, replicas, timeoutMs),
    );
  }

  #route(args: readonly RedisArg[], op: Operation): Promise<RedisReply> {
    if (this.#closed) return Promise.reject(this.#closedError());
    let slot: number;
    try {
      slot = commandSlot(args);
    } catch (error) {
      return Promise.reject(error);
    }
    const node = this.#map.owner(slot);
    if (node === undefined) {
      return Promise.reject(
        new RedisConnectionError(
          `The cluster client for ${this.#seedLabel} has no slot map yet; call connect() first.`,
        ),
      );
    }
    const deadline = this.#timeoutMs > 0
      ? performance.now() + this.#timeoutMs
      : Infinity;
    const sent = node.client.connected
      ? op(node.client)
      : this.#attempt(node, op, deadline);
    return sent.catch((error) =>
      this.#recover(error, args, op, slot, node, deadline)
    );
  }

  /**
   * Handles a failed command: follows `MOVED` and `ASK` up to
   * `maxRedirects` times, and sends again with backoff, within the deadline,
   * what the cluster did not execute (`CLUSTERDOWN`, `TRYAGAIN`, a node that
   * could not be connected to). Any other failure is the command's result.
   */
  #recover(
    error: unknown,
    args: readonly RedisArg[],
    op: Operation,
    slot: number,
    node: ClusterNode,
    deadline: number,
  ): Promise<RedisReply> {
    let redirects = 0;
    /** The redirect the next attempt follows, if any. */
    let redirect: string | undefined;
    return retryWithinDeadline({
      deadline,
      attempt: () => {
        if (this.#closed) return Promise.reject(this.#closedError());
        if (redirect !== undefined) {
          const code = redirect;
          redirect = undefined;
          return this.#resend(code, node, op);
        }
        // Looked up again: a refresh meanwhile may have moved the slot.
        node = this.#map.owner(slot) ?? node;
        return this.#attempt(node, op, deadline);
      },
      next: (failure, retries) => {
        if (this.#closed) throw this.#closedError();
        if (failure instanceof RedisReplyError && isRedirect(failure.code)) {
          // Learnt (a MOVED updates the map) even when not followed.
          node = this.#redirectTarget(failure, node);
          if (redirects++ >= this.#maxRedirects) {
            throw this.#tooManyRedirects(failure, args);
          }
          redirect = failure.code;
          return 0;
        }
        this.#noteFailure(
          failure instanceof Unsent ? failure.error : failure,
          node,
        );
        return retriable(failure)
          ? backoffDelay(retries, RETRY_BACKOFF)
          : undefined;
      },
      late: (last) =>
        this.#notExecutedInTime(
          args,
          last instanceof Unsent ? last.error : last,
        ),
    }, error);
  }

  /**
   * Sends on `node`, connecting first (within the deadline), so a failed
   * connect is known not to have sent anything.
   */
  async #attempt(
    node: ClusterNode,
    op: Operation,
    deadline: number,
  ): Promise<RedisReply> {
    if (!node.client.connected) {
      try {
        await beforeDeadline(
          node.client.connect(),
          deadline,
          () =>
            new RedisConnectionError(
              `No connection to ${node.client.url} came up within ${this.#timeoutMs} ms; the command was not sent.`,
            ),
        );
      } catch (error) {
        throw new Unsent(error);
      }
    }
    return op(node.client);
  }

  /**
   * Opens a new cluster client with connections of its own to the same
   * cluster, with the same options except those given. Its `send()` takes the
   * commands a shared client refuses, each still sent to the master of its
   * key's slot: fit for blocking reads (`BLPOP`, `XREAD BLOCK`; give it a
   * `commandTimeoutMs` longer than they block, or `0`). Transactions are not
   * routed as a unit (`MULTI` and `EXEC` have no key): use a Lua script, or
   * `createRedisClient` on the master that owns the keys.
   *
   * @param options Options that differ from this client's.
   * @returns The new cluster client, connected. Close it when done.
   * @throws {RedisConnectionError} when no seed can be reached.
   */
  async duplicate(
    options?: RedisClusterClientOptions,
  ): Promise<RedisClusterClient> {
    dedicatingCluster = true;
    let client: RedisClusterClient;
    try {
      client = new RedisClusterClient(this.#given.seeds, {
        ...this.#given.options,
        ...options,
      });
    } finally {
      dedicatingCluster = false;
    }
    try {
      return await client.connect();
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /**
   * Reads the slot map again now. Redirects and connection failures do this
   * by themselves; call it after changing the cluster's layout yourself.
   *
   * @throws {RedisConnectionError} when no node can be reached.
   */
  refresh(): Promise<void> {
    return this.#map.refresh();
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
    this.#map.stop();
    await this.#map.idle();
    const nodes = [...this.#nodes.values()];
    this.#nodes.clear();
    await Promise.all(nodes.map((node) => this.#retire(node)));
  }

  #closedError(): RedisConnectionError {
    return new RedisConnectionError(
      `The cluster client for ${this.#seedLabel} is closed; create a new one.`,
    );
  }

  /** What the slot map needs of this client. */
  #pool(): NodePool {
    return {
      seeds: this.#seeds,
      label: this.#seedLabel,
      isClosed: () => this.#closed,
      nodeAt: (address) => this.#nodeAt(address),
      closedError: () => this.#closedError(),
      installed: (owners) => this.#retireAllBut(owners),
    };
  }

  /**
   * The error of a command the cluster did not execute before its deadline:
   * it says so (`executed: "no"`) and keeps the last failure as its cause.
   */
  #notExecutedInTime(args: readonly RedisArg[], failure: unknown): RedisError {
    const name = typeof args[0] === "string"
      ? args[0].toUpperCase()
      : "The command";
    if (failure instanceof RedisReplyError) {
      return new RedisTimeoutError(
        `${name} was not executed: the cluster answered ${failure.code} until the command's deadline of ${this.#timeoutMs} ms passed (${failure.reply}). It is safe to send again.`,
        { executed: "no", cause: failure },
      );
    }
    return new RedisConnectionError(
      `${name} was not executed: no connection to the master of its slot came up before the command's deadline of ${this.#timeoutMs} ms${
        failure instanceof Error
          ? ` (${failure.message.replace(/\.$/, "")})`
          : ""
      }. It is safe to send again.`,
      { executed: "no", cause: failure },
    );
  }

  /** Refreshes the slot map after failures that may mean the cluster changed. */
  #noteFailure(error: unknown, node: ClusterNode): void {
    if (this.#closed) return;
    if (
      error instanceof RedisConnectionError ||
      error instanceof RedisTimeoutError
    ) {
      // A dead or hung master: its replica may have been promoted.
      this.#map.failed(node);
    } else if (
      error instanceof RedisReplyError && error.code === "CLUSTERDOWN"
    ) {
      this.#map.schedule(undefined);
    }
  }

  /** The node a `MOVED` or `ASK` names; a `MOVED` also updates the map. */
  #redirectTarget(error: RedisReplyError, from: ClusterNode): ClusterNode {
    const match = /^(?:MOVED|ASK) (\d+) (\S*:\d+)$/.exec(error.reply);
    if (match === null) throw error;
    const slot = Number(match[1]);
    const { hostname, port } = splitAddress(match[2]);
    // An unknown endpoint ("" or "?") means "the host that answered".
    const target = this.#nodeAt(
      joinAddress(
        hostname === "" || hostname === "?"
          ? splitAddress(from.address).hostname
          : hostname,
        port,
      ),
    );
    // Learnt even when the command may not follow it.
    if (error.code === "MOVED") this.#map.moved(slot, target);
    return target;
  }

  /** Sends the command again as the redirect says. */
  #resend(
    code: string,
    target: ClusterNode,
    op: Operation,
  ): Promise<RedisReply> {
    if (code === "ASK") {
      this.#counts.ask++;
      // Both are queued in this tick on one connection, so ASKING is
      // immediately followed by the command, as the target requires.
      target.client.send(["ASKING"]).catch(() => {});
      return op(target.client);
    }
    this.#counts.moved++;
    return op(target.client);
  }

  #tooManyRedirects(
    error: RedisReplyError,
    args: readonly RedisArg[],
  ): RedisError {
    return new RedisError(
      `${
        String(args[0]).toUpperCase()
      } did not reach its slot's owner within maxRedirects (${this.#maxRedirects}); the last reply was ${error.reply}. If the cluster's slot map keeps changing, check CLUSTER SLOTS on ${this.#seedLabel}.`,
      { cause: error },
    );
  }

  /** Closes connections to nodes that own no slot any more (old seeds, emptied or demoted masters). */
  async #retireAllBut(owners: ReadonlySet<ClusterNode>): Promise<void> {
    const retiring: ClusterNode[] = [];
    for (const [address, node] of this.#nodes) {
      if (!owners.has(node)) {
        this.#nodes.delete(address);
        retiring.push(node);
      }
    }
    // Their replies still arrive: close() waits for them.
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
        client: (this.#dedicated ? newDedicatedClient : newClient)(
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
}

/** Set while `duplicate()` constructs a cluster client of dedicated node clients. */
let dedicatingCluster = false;

function newClient(url: string, options: RedisClientOptions): RedisClient {
  return new RedisClient(url, options);
}

/** The replies a cluster client follows to another node. */
function isRedirect(code: string): boolean {
  return code === "MOVED" || code === "ASK";
}

/**
 * Whether `error`'s command was not executed for a reason that passes, so it
 * may be sent again: its node could not be connected to, or the cluster is
 * failing over (`CLUSTERDOWN`) or moving its keys (`TRYAGAIN`).
 */
function retriable(error: unknown): boolean {
  return error instanceof Unsent ||
    (notExecuted(error) && error instanceof RedisReplyError &&
      (error.code === "CLUSTERDOWN" || error.code === "TRYAGAIN"));
}
