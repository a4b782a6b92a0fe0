/**
 * The slot map of a Redis Cluster: which node owns each of the 16,384 hash
 * slots, how it is read with `CLUSTER SLOTS`, and when it is read again. The
 * cluster client routes by it; it knows nothing of commands or redirects.
 *
 * @module
 */

import type { RedisClient } from "./client.ts";
import { SLOT_COUNT } from "./_slot.ts";
import { RedisConnectionError, RedisReplyError } from "./errors.ts";
import type { RedisReply } from "./types.ts";

/** One cluster node and the connection to it. */
export interface ClusterNode {
  /** `host:port`, as the cluster names the node. */
  readonly address: string;
  /** The (lazily connecting) client for this node. */
  readonly client: RedisClient;
  /** `performance.now()` of its last connection failure, for ordering refresh candidates. */
  failedAt: number;
}

/** A host and port, as a seed URL or a redirect names them. */
export interface NodeAddress {
  /** Host name or IP address; IPv6 without brackets. */
  readonly hostname: string;
  /** TCP port. */
  readonly port: number;
}

/** One range of a `CLUSTER SLOTS` reply: slots `start..end` live on the master at `hostname:port`. */
export interface SlotRange extends NodeAddress {
  /** First slot of the range. */
  readonly start: number;
  /** Last slot of the range, included. */
  readonly end: number;
}

/** What the slot map needs from the cluster client that owns the nodes. */
export interface NodePool {
  /** The seeds, tried last when the map is read. */
  readonly seeds: readonly NodeAddress[];
  /** The seeds' redacted URLs, for messages. */
  readonly label: string;
  /** Whether the cluster client is closed. */
  isClosed(): boolean;
  /** The node at `host:port`, made on first use. */
  nodeAt(address: string): ClusterNode;
  /** The error for a call on a closed client. */
  closedError(): RedisConnectionError;
  /** Called with the owners of the new map, to close nodes that own no slot any more. */
  installed(owners: ReadonlySet<ClusterNode>): Promise<void>;
}

/**
 * Refreshes start at least this long apart; one asked for sooner runs when
 * the gap has passed. A failing cluster prompts a refresh per failed command,
 * which would otherwise ask it for its map hundreds of times a second.
 */
export const MIN_REFRESH_GAP_MS = 500;

/** The owner of every slot, read from the cluster and refreshed on demand. */
export class SlotMap {
  readonly #pool: NodePool;
  /** The owner of each slot; `undefined` until the map is read. */
  #slots: (ClusterNode | undefined)[] = new Array(SLOT_COUNT);
  #masters: ClusterNode[] = [];
  /** Round-robin position for keyless commands. */
  #next = 0;
  #refreshing: Promise<void> | null = null;
  #refreshAgain = false;
  #preferred: ClusterNode | undefined;
  #lastRefreshAt = -Infinity;
  #refreshes = 0;
  /** The refresh asked for within the gap, due when the gap has passed. */
  #deferred: ReturnType<typeof setTimeout> | undefined;
  /** The periodic refresh, while one is set up. */
  #periodic: ReturnType<typeof setTimeout> | undefined;

  /**
   * Creates an empty map; call {@linkcode SlotMap.refresh} to read it.
   *
   * @param pool The nodes and the cluster client's state.
   */
  constructor(pool: NodePool) {
    this.#pool = pool;
  }

  /** The masters that own slots, as of the last map read. */
  get masters(): readonly ClusterNode[] {
    return this.#masters;
  }

  /** Times the map was read from the cluster. */
  get refreshes(): number {
    return this.#refreshes;
  }

  /**
   * The node that owns `slot`, or any master for -1 (a keyless command) and
   * for a slot no master serves, whose `CLUSTERDOWN` reply then tells the
   * caller what the cluster thinks.
   *
   * @param slot A hash slot, or -1.
   * @returns The node, or `undefined` before the map was read.
   */
  owner(slot: number): ClusterNode | undefined {
    if (slot !== -1) {
      const node = this.#slots[slot];
      if (node !== undefined) return node;
    }
    const masters = this.#masters;
    if (masters.length === 0) return undefined;
    this.#next = (this.#next + 1) % masters.length;
    return masters[this.#next];
  }

  /**
   * Records that a `MOVED` reply named a new owner for `slot`, and refreshes
   * the whole map from it: one slot moving usually means a resharding.
   *
   * @param slot The slot.
   * @param node Its new owner.
   */
  moved(slot: number, node: ClusterNode): void {
    if (this.#slots[slot] === node) return;
    this.#slots[slot] = node;
    this.schedule(node);
  }

  /**
   * Notes a connection failure or a timeout on `node`, which is then asked
   * for the map last; the map is read again, since a failover may have moved
   * its slots.
   *
   * @param node The node that failed.
   */
  failed(node: ClusterNode): void {
    node.failedAt = performance.now();
    this.schedule(undefined);
  }

  /**
   * Reads the map every `intervalMs` from now on, so a change nobody was
   * told of (a replica promoted while this client was idle) is learnt. The
   * timer does not keep the process alive.
   *
   * @param intervalMs Milliseconds between reads; 0 turns it off.
   */
  every(intervalMs: number): void {
    clearTimeout(this.#periodic);
    if (intervalMs <= 0 || this.#pool.isClosed()) return;
    this.#periodic = setTimeout(() => {
      this.schedule(undefined);
      this.every(intervalMs);
    }, intervalMs);
    Deno.unrefTimer(this.#periodic);
  }

  /** Cancels the periodic and deferred refreshes, for closing. */
  stop(): void {
    clearTimeout(this.#periodic);
    clearTimeout(this.#deferred);
    this.#deferred = undefined;
  }

  /**
   * Reads the map now, after any refresh already running.
   *
   * @throws {RedisConnectionError} when no node can be reached.
   * @throws {RedisReplyError} when a node refuses `CLUSTER SLOTS`.
   */
  async refresh(): Promise<void> {
    while (this.#refreshing !== null) await this.#refreshing;
    if (this.#pool.isClosed()) throw this.#pool.closedError();
    const run = this.#discover([]);
    this.#refreshing = this.#settle(run);
    await run;
  }

  /** Resolves once no refresh is running. */
  async idle(): Promise<void> {
    while (this.#refreshing !== null) await this.#refreshing;
  }

  /**
   * Starts a refresh in the background, or asks for one more after the
   * running one, which may have read the map before the change that prompted
   * this call. Without a `preferred` node (a failure, not a `MOVED`), a
   * refresh within {@linkcode MIN_REFRESH_GAP_MS} of the last one is put off
   * until the gap has passed.
   *
   * @param preferred The node to ask first, if any.
   */
  schedule(preferred: ClusterNode | undefined): void {
    if (this.#pool.isClosed()) return;
    if (preferred !== undefined) this.#preferred = preferred;
    if (this.#refreshing !== null) {
      this.#refreshAgain = true;
      return;
    }
    // A MOVED (which names a preferred node) proves a change: it is not
    // held back. Failures may be a storm, which is.
    const wait = this.#lastRefreshAt + MIN_REFRESH_GAP_MS - performance.now();
    if (wait > 0 && preferred === undefined) {
      this.#deferred ??= setTimeout(() => {
        this.#deferred = undefined;
        this.schedule(undefined);
      }, wait);
      return;
    }
    this.#refreshAgain = false;
    const first = this.#preferred;
    this.#preferred = undefined;
    this.#refreshing = this.#settle(
      this.#discover(first === undefined ? [] : [first]),
    );
  }

  /** Clears `#refreshing` when `run` settles, and starts the refresh asked for meanwhile. */
  async #settle(run: Promise<void>): Promise<void> {
    try {
      await run;
    } catch {
      // Commands report their own failures; the next trigger tries again.
    }
    this.#refreshing = null;
    if (this.#refreshAgain && !this.#pool.isClosed()) this.schedule(undefined);
  }

  /**
   * Reads `CLUSTER SLOTS` from the first node that answers, trying the given
   * nodes, then known masters (those that failed last at the end), then seeds.
   */
  async #discover(first: ClusterNode[]): Promise<void> {
    const pool = this.#pool;
    this.#lastRefreshAt = performance.now();
    const masters = [...this.#masters].sort((a, b) => a.failedAt - b.failedAt);
    // Seeds last, and only made into nodes when reached: most refreshes are
    // answered by the first master asked.
    const candidates: (ClusterNode | NodeAddress)[] = [
      ...new Set([...first, ...masters]),
      ...pool.seeds,
    ];
    const tried = new Set<ClusterNode>();
    let lastError: unknown;
    for (const candidate of candidates) {
      if (pool.isClosed()) throw pool.closedError();
      const node = "client" in candidate
        ? candidate
        : pool.nodeAt(joinAddress(candidate.hostname, candidate.port));
      if (tried.has(node)) continue;
      tried.add(node);
      let reply: RedisReply;
      try {
        reply = await node.client.send(["CLUSTER", "SLOTS"]);
      } catch (error) {
        if (error instanceof RedisReplyError) throw refused(error, node);
        if (error instanceof Deno.errors.NotCapable) throw error;
        node.failedAt = performance.now();
        lastError = error;
        continue;
      }
      this.#refreshes++;
      await this.#install(reply, node);
      return;
    }
    if (pool.isClosed()) throw pool.closedError();
    throw new RedisConnectionError(
      `Cannot read the slot map of the cluster at ${pool.label}: ${
        lastError instanceof Error ? lastError.message : String(lastError)
      }`,
      { cause: lastError },
    );
  }

  /** Installs a `CLUSTER SLOTS` reply as the slot map. */
  async #install(reply: RedisReply, from: ClusterNode): Promise<void> {
    const ranges = parseClusterSlots(
      reply,
      splitAddress(from.address).hostname,
      from.client.url,
    );
    // Slots missing from the reply keep their last known owner: commands for
    // them then fail (or get redirected) there, rather than going astray.
    const slots = this.#slots.slice();
    const masters = new Set<ClusterNode>();
    for (const range of ranges) {
      const node = this.#pool.nodeAt(joinAddress(range.hostname, range.port));
      masters.add(node);
      for (let slot = range.start; slot <= range.end; slot++) {
        slots[slot] = node;
      }
    }
    this.#slots = slots;
    this.#masters = [...masters];
    await this.#pool.installed(new Set(slots.filter((n) => n !== undefined)));
  }
}

/** The error for a node that refuses `CLUSTER SLOTS`, saying why where it can. */
function refused(error: RedisReplyError, node: ClusterNode): RedisReplyError {
  // A refused handshake (AUTH, say) has no command and says it all.
  if (error.command === undefined) return error;
  return new RedisReplyError(error.reply, {
    command: "CLUSTER SLOTS",
    context: `${node.client.url} cannot tell the cluster's slot map${
      /cluster support disabled/i.test(error.reply)
        ? " because it is not in cluster mode; use createRedisClient for a single server"
        : ""
    }`,
    cause: error,
  });
}

/**
 * Reads a `CLUSTER SLOTS` reply into slot ranges and their masters; replicas
 * and malformed entries are skipped.
 *
 * @param reply The reply.
 * @param fromHostname The host that answered, which an unknown endpoint
 * (`""`, `"?"` or nil) stands for.
 * @param fromLabel The answering node's redacted URL, for messages.
 * @returns The ranges, at least one.
 * @throws {RedisConnectionError} when the reply is not a slot map or assigns no slot.
 */
export function parseClusterSlots(
  reply: RedisReply,
  fromHostname: string,
  fromLabel: string,
): SlotRange[] {
  if (!Array.isArray(reply)) {
    throw new RedisConnectionError(
      `${fromLabel} answered CLUSTER SLOTS with ${
        JSON.stringify(reply)
      }, not a slot map.`,
    );
  }
  const ranges: SlotRange[] = [];
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
    const hostname = typeof host === "string" && host !== "" && host !== "?"
      ? host
      : fromHostname;
    ranges.push({
      start: Math.max(0, start),
      end: Math.min(end, SLOT_COUNT - 1),
      hostname,
      port,
    });
  }
  if (ranges.length === 0) {
    throw new RedisConnectionError(
      `${fromLabel} answered CLUSTER SLOTS with no assigned slots; is the cluster set up?`,
    );
  }
  return ranges;
}

/**
 * Names a node as the cluster does.
 *
 * @param hostname Host name or IP address.
 * @param port TCP port.
 * @returns `host:port`.
 */
export function joinAddress(hostname: string, port: number): string {
  return `${hostname}:${port}`;
}

/**
 * Splits `host:port`; the host may be an IPv6 address with colons of its own,
 * in brackets or not.
 *
 * @param address The node's address.
 * @returns Its host and port.
 */
export function splitAddress(address: string): NodeAddress {
  const colon = address.lastIndexOf(":");
  let hostname = address.slice(0, colon);
  if (hostname.startsWith("[") && hostname.endsWith("]")) {
    hostname = hostname.slice(1, -1);
  }
  return { hostname, port: Number(address.slice(colon + 1)) };
}
