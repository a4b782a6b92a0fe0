/**
 * Throwaway Redis Clusters for tests and benchmarks: masters started with
 * `startRedisServer`, joined with `redis-cli --cluster create`.
 *
 * @module
 */

import { RedisClient } from "../client/client.ts";
import type { RedisReply } from "../client/types.ts";
import { ask } from "./_ask.ts";
import { freePort, portWasTaken } from "./_ports.ts";
import { type RedisServer, startRedisServer } from "./redis_server.ts";

/** Options of {@linkcode startRedisCluster}. */
export interface RedisClusterOptions {
  /**
   * How many masters share the 16,384 slots; Redis needs at least 3.
   *
   * @default {3}
   */
  masters?: number;
  /**
   * Replicas of every master, for failover tests: the cluster promotes one
   * when its master fails.
   *
   * @default {0}
   */
  replicasPerMaster?: number;
  /**
   * Extra `redis.conf` lines for every node, e.g.
   * `"cluster-require-full-coverage no"` to keep serving the other slots
   * when a master dies.
   *
   * @default {[]}
   */
  config?: readonly string[];
  /**
   * `cluster-node-timeout`: how long a node may be unreachable before the
   * others consider it failing.
   *
   * @default {2000}
   */
  nodeTimeoutMs?: number;
  /**
   * Milliseconds to wait for every node to report `cluster_state:ok` and
   * agree on the slot map.
   *
   * @default {30000}
   */
  readyTimeoutMs?: number;
}

/** A running throwaway cluster. Dispose of it (or `stop()` it) to remove it. */
export interface RedisCluster extends AsyncDisposable {
  /** Each master's `redis://127.0.0.1:PORT` URL, in `nodes` order; any one is a seed. */
  readonly urls: readonly string[];
  /** The master servers as the cluster was formed, to kill, pause or restart one. */
  readonly nodes: readonly RedisServer[];
  /** The replica servers as the cluster was formed (`replicasPerMaster` of each master). */
  readonly replicas: readonly RedisServer[];
  /**
   * The node that serves `slot` now, as the cluster itself says: after a
   * failover this is the promoted replica.
   *
   * @param slot A hash slot, 0–16383.
   * @returns The server handle of the slot's current master.
   */
  ownerOf(slot: number): Promise<RedisServer>;
  /** Stops every node and deletes their directories. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` throwaway `redis-server` processes on
 * free loopback ports (cluster bus ports included), joins them with
 * `redis-cli --cluster create`, and resolves once every node reports
 * `cluster_state:ok` and all agree on who owns which slots.
 *
 * Needs what {@linkcode startRedisServer} needs, plus `--allow-run=redis-cli`.
 *
 * @param options Number of masters and of replicas per master, extra
 * configuration and timeouts.
 * @returns A handle with the nodes' URLs and servers.
 * @throws {Error} with `redis-cli`'s output when the cluster cannot be formed.
 *
 * @example A cluster for one test
 * ```ts
 * import { startRedisCluster } from "@x/redis-subjects/testing";
 * import { createRedisClusterClient } from "@x/redis-subjects";
 *
 * await using cluster = await startRedisCluster({ masters: 3 });
 * await using client = await createRedisClusterClient(cluster.urls);
 * await client.send(["SET", "greeting", "hello"]);
 * ```
 */
export async function startRedisCluster(
  options: RedisClusterOptions = {},
): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  if (!Number.isSafeInteger(masters) || masters < 3) {
    throw new TypeError(
      `A Redis Cluster needs at least 3 masters, got ${masters}.`,
    );
  }
  const replicasPerMaster = options.replicasPerMaster ?? 0;
  if (!Number.isSafeInteger(replicasPerMaster) || replicasPerMaster < 0) {
    throw new TypeError(
      `replicasPerMaster must be an integer ≥ 0, got ${replicasPerMaster}.`,
    );
  }
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const startNode = async (): Promise<RedisServer> => {
    for (let attempt = 1;; attempt++) {
      try {
        return await startRedisServer({
          config: [
            "cluster-enabled yes",
            // Relative to the server's own directory, which it changes into.
            "cluster-config-file nodes.conf",
            `cluster-node-timeout ${nodeTimeoutMs}`,
            // The default bus port is port + 10000, which may be taken or
            // beyond 65535; pick a free one (again, if it was taken meanwhile).
            `cluster-port ${freePort()}`,
            // Replicas sync at once, not after the default 5 s of waiting
            // for more replicas to share the transfer.
            "repl-diskless-sync-delay 0",
            ...(options.config ?? []),
          ],
        });
      } catch (error) {
        if (attempt >= 5 || !portWasTaken(error)) throw error;
      }
    }
  };
  const started = await Promise.allSettled(
    Array.from({ length: masters * (1 + replicasPerMaster) }, startNode),
  );
  const all = started.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  const cluster = new ThrowawayCluster(all);
  try {
    const failure = started.find((r) => r.status === "rejected");
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
    await join(all, replicasPerMaster);
    await waitUntilReady(all, replicasPerMaster, readyTimeoutMs);
    await cluster.sortRoles();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

class ThrowawayCluster implements RedisCluster {
  urls: readonly string[] = [];
  nodes: readonly RedisServer[] = [];
  replicas: readonly RedisServer[] = [];
  #stopping: Promise<void> | null = null;

  constructor(readonly all: readonly RedisServer[]) {}

  /** Splits the nodes into masters and replicas, as `redis-cli` chose them. */
  async sortRoles(): Promise<void> {
    const roles = await Promise.all(
      this.all.map((node) => ask(node, ["ROLE"])),
    );
    this.nodes = this.all.filter((_, i) => roleOf(roles[i]) === "master");
    this.replicas = this.all.filter((_, i) => roleOf(roles[i]) !== "master");
    // Cluster nodes have only database 0, so the URL names no database.
    this.urls = this.nodes.map((node) => node.url.replace(/\/0$/, ""));
  }

  async ownerOf(slot: number): Promise<RedisServer> {
    // Asked of a node that runs: any one knows the whole map.
    for (const node of this.all) {
      if (node.pid === undefined) continue;
      let reply: RedisReply;
      try {
        reply = await ask(node, ["CLUSTER", "SLOTS"], undefined, 500);
      } catch {
        continue; // Paused or dying; ask another.
      }
      for (const range of reply as [number, number, RedisReply[]][]) {
        if (range[0] <= slot && slot <= range[1]) {
          const port = range[2][1];
          const owner = this.all.find((n) => n.port === port);
          if (owner !== undefined) return owner;
        }
      }
    }
    throw new Error(
      `No running node of the cluster knows who owns slot ${slot}.`,
    );
  }

  stop(): Promise<void> {
    this.#stopping ??= Promise.all(this.all.map((node) => node.stop()))
      .then(() => {});
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

function roleOf(reply: RedisReply): string {
  return Array.isArray(reply) ? String(reply[0]) : String(reply);
}

async function join(
  nodes: readonly RedisServer[],
  replicasPerMaster: number,
): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("redis-cli", {
      args: [
        "--cluster",
        "create",
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        "--cluster-replicas",
        String(replicasPerMaster),
        "--cluster-yes",
      ],
      stdin: "null",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        'redis-cli is not installed; install Redis (e.g. "apt-get install -y redis-tools" or "brew install redis").',
      );
    }
    throw error;
  }
  const decoder = new TextDecoder();
  const text = decoder.decode(output.stdout) + decoder.decode(output.stderr);
  if (!output.success || !text.includes("[OK] All 16384 slots covered")) {
    throw new Error(
      `redis-cli --cluster create failed (exit code ${output.code}):\n${text}`,
    );
  }
}

/**
 * Polls every node until each reports `cluster_state:ok`, all return the
 * same slot map with every master's replicas in it, and every replica is in
 * sync: `redis-cli` returns once the join started, but gossip takes a moment
 * to reach every node.
 */
async function waitUntilReady(
  nodes: readonly RedisServer[],
  replicasPerMaster: number,
  timeoutMs: number,
): Promise<void> {
  const clients = nodes.map((node) =>
    new RedisClient(node.url.replace(/\/0$/, ""), { reconnect: false })
  );
  const deadline = performance.now() + timeoutMs;
  let last = "";
  try {
    while (true) {
      const states = await Promise.all(clients.map(async (client) => {
        const [info, slots, replication, known] = await Promise.all([
          client.send(["CLUSTER", "INFO"]),
          client.send(["CLUSTER", "SLOTS"]),
          client.send(["INFO", "replication"]),
          client.send(["CLUSTER", "NODES"]),
        ]);
        const text = String(replication);
        return {
          info: String(info),
          map: slotMap(slots),
          synced: !text.includes("role:slave") ||
            text.includes("master_link_status:up"),
          replicas: String(known).split("\n").filter((line) =>
            / (?:myself,)?slave /.test(line)
          ).length,
        };
      }));
      const replicas = (nodes.length / (1 + replicasPerMaster)) *
        replicasPerMaster;
      const ok = states.every((s) =>
        s.info.includes("cluster_state:ok") && s.synced &&
        s.replicas === replicas
      );
      const agreed = states.every((s) => s.map === states[0].map);
      if (ok && agreed) return;
      last = states.map((s, i) =>
        `${nodes[i].port}: ${
          /cluster_state:\w+/.exec(s.info)?.[0]
        }, slots ${s.map}`
      ).join("\n");
      if (performance.now() > deadline) {
        throw new Error(
          `The cluster was not ready within ${timeoutMs} ms:\n${last}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

/** A canonical text of a `CLUSTER SLOTS` reply: sorted "start-end@port" ranges. */
function slotMap(reply: RedisReply): string {
  if (!Array.isArray(reply)) return String(reply);
  return reply
    .map((range) => {
      const [start, end, master] = range as [number, number, RedisReply[]];
      return `${start}-${end}@${master[1]}`;
    })
    .sort((a, b) => Number.parseInt(a) - Number.parseInt(b))
    .join(",");
}
