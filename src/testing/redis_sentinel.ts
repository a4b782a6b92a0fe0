/**
 * Throwaway Sentinel deployments for failover tests: a master, its replicas
 * and the Sentinels that watch them, each a `redis-server` on a free port.
 *
 * @module
 */

import { sleep } from "../async/backoff.ts";
import { ask } from "./_ask.ts";
import { replyRecord } from "../client/sentinel.ts";
import { type RedisServer, startRedisServer } from "./redis_server.ts";

/** Options of {@linkcode startRedisSentinel}. */
export interface RedisSentinelOptions {
  /**
   * Replicas of the master; Sentinel promotes one when the master fails.
   *
   * @default {1}
   */
  replicas?: number;
  /**
   * Sentinel processes; a majority of them must agree before a failover.
   *
   * @default {3}
   */
  sentinels?: number;
  /**
   * `down-after-milliseconds`: how long the master may not answer before a
   * Sentinel considers it down. Short, so tests fail over quickly.
   *
   * @default {1000}
   */
  downAfterMs?: number;
  /**
   * `failover-timeout`. Sentinel waits twice this long before it tries a
   * failover of the same master again.
   *
   * @default {2000}
   */
  failoverTimeoutMs?: number;
  /**
   * The name the Sentinels know the master by.
   *
   * @default {"mymaster"}
   */
  masterName?: string;
  /**
   * Extra `redis.conf` lines for the master and the replicas, e.g.
   * `"requirepass pw"` together with `"masterauth pw"`.
   *
   * @default {[]}
   */
  config?: readonly string[];
  /** Password of the data nodes (`requirepass`, `masterauth`, and Sentinel's `auth-pass`). */
  password?: string;
  /** Password of the Sentinels themselves; their URLs then carry it. */
  sentinelPassword?: string;
  /**
   * Milliseconds to wait until the replicas are in sync and every Sentinel
   * knows every replica and every other Sentinel.
   *
   * @default {30000}
   */
  readyTimeoutMs?: number;
}

/** A running throwaway Sentinel deployment. Dispose of it (or `stop()` it) to remove it. */
export interface RedisSentinel extends AsyncDisposable {
  /** The name the Sentinels know the master by. */
  readonly masterName: string;
  /** Every Sentinel's `redis://127.0.0.1:PORT` URL. */
  readonly sentinelUrls: readonly string[];
  /** The server started as master, to kill, pause or restart; a failover may demote it. */
  readonly master: RedisServer;
  /** The servers started as replicas; a failover may promote one. */
  readonly replicas: readonly RedisServer[];
  /** The Sentinel processes. */
  readonly sentinels: readonly RedisServer[];
  /**
   * The data node the Sentinels name as master now, asked of the first
   * Sentinel that answers.
   *
   * @returns Its server handle.
   */
  currentMaster(): Promise<RedisServer>;
  /**
   * Asks a Sentinel for a graceful failover (`SENTINEL FAILOVER`) and waits
   * until every Sentinel names the new master and it answers `ROLE` as one.
   *
   * @param timeoutMs How long to wait for all of that.
   * @returns The new master's server handle.
   * @throws {Error} when the failover does not complete within `timeoutMs`.
   */
  failover(timeoutMs?: number): Promise<RedisServer>;
  /**
   * Waits until every running Sentinel names a master other than `previous`
   * and that master answers `ROLE` as one, e.g. after killing the master.
   *
   * @param previous The master before the failover.
   * @param timeoutMs How long to wait.
   * @returns The new master's server handle.
   * @throws {Error} when that does not happen within `timeoutMs`.
   */
  waitForNewMaster(
    previous: RedisServer,
    timeoutMs?: number,
  ): Promise<RedisServer>;
  /** Stops every process and deletes their directories. */
  stop(): Promise<void>;
}

/**
 * Starts a master, `replicas` replicas of it and `sentinels` Sentinels that
 * watch it, each on a free loopback port, with short failover settings.
 * Resolves once the replicas are in sync and every Sentinel knows every
 * replica and every other Sentinel, so a failover can start at once.
 *
 * Needs what {@linkcode startRedisServer} needs.
 *
 * @param options Counts, failover settings and extra configuration.
 * @returns A handle with the Sentinels' URLs, the servers and `failover()`.
 * @throws {Error} when the deployment is not ready within `readyTimeoutMs`.
 *
 * @example A Sentinel deployment for one test
 * ```ts
 * import { startRedisSentinel } from "@x/redis-subjects/testing";
 * import { createRedisSentinelClient } from "@x/redis-subjects";
 *
 * await using deployment = await startRedisSentinel({ replicas: 1, sentinels: 3 });
 * await using client = await createRedisSentinelClient(deployment.sentinelUrls, {
 *   masterName: deployment.masterName,
 * });
 * await client.send(["SET", "greeting", "hello"]);
 * await deployment.master.kill(); // Sentinel promotes the replica; the client follows
 * ```
 */
export async function startRedisSentinel(
  options: RedisSentinelOptions = {},
): Promise<RedisSentinel> {
  const replicaCount = count("replicas", options.replicas, 1, 0);
  const sentinelCount = count("sentinels", options.sentinels, 3, 1);
  const downAfterMs = count("downAfterMs", options.downAfterMs, 1000, 1);
  const failoverTimeoutMs = count(
    "failoverTimeoutMs",
    options.failoverTimeoutMs,
    2000,
    1,
  );
  const masterName = options.masterName ?? "mymaster";
  if (!/^[A-Za-z0-9._-]+$/.test(masterName)) {
    throw new TypeError(
      `masterName must be letters, digits, ".", "_" or "-", got ${
        JSON.stringify(masterName)
      }.`,
    );
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const deadline = performance.now() + readyTimeoutMs;
  const started: RedisServer[] = [];
  const stopAll = () => Promise.all(started.map((s) => s.stop()));
  try {
    // Replicas sync at once instead of after the default 5 s of waiting for
    // more replicas to share the transfer.
    const { password, sentinelPassword } = options;
    const config = [
      "repl-diskless-sync-delay 0",
      ...(password === undefined
        ? []
        : [`requirepass ${password}`, `masterauth ${password}`]),
      ...(options.config ?? []),
    ];
    const master = await startRedisServer({ config });
    started.push(master);
    const replicas = await Promise.all(
      Array.from({ length: replicaCount }, async () => {
        const replica = await startRedisServer({
          config: [...config, `replicaof 127.0.0.1 ${master.port}`],
        });
        started.push(replica);
        return replica;
      }),
    );
    // Sentinels learn of replicas from the master's INFO, which they read
    // every 10 s once connected: the replicas must be attached first.
    await until(deadline, "the replicas to be in sync", async () => {
      for (const replica of replicas) {
        const info = String(
          await ask(replica, ["INFO", "replication"], password),
        );
        if (!info.includes("master_link_status:up")) return false;
      }
      return true;
    });
    const quorum = Math.floor(sentinelCount / 2) + 1;
    const sentinels = await Promise.all(
      Array.from({ length: sentinelCount }, async () => {
        const sentinel = await startRedisServer({
          sentinel: true,
          config: [
            `sentinel monitor ${masterName} 127.0.0.1 ${master.port} ${quorum}`,
            `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
            `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
            `sentinel parallel-syncs ${masterName} 1`,
            ...(password === undefined
              ? []
              : [`sentinel auth-pass ${masterName} ${password}`]),
            ...(sentinelPassword === undefined
              ? []
              : [`requirepass ${sentinelPassword}`]),
          ],
        });
        started.push(sentinel);
        return sentinel;
      }),
    );
    const deployment = new ThrowawaySentinel(
      masterName,
      master,
      replicas,
      sentinels,
      stopAll,
      password,
      sentinelPassword,
    );
    await until(deadline, "every Sentinel to know the deployment", async () => {
      for (const sentinel of sentinels) {
        const fields = replyRecord(
          await ask(
            sentinel,
            ["SENTINEL", "MASTER", masterName],
            sentinelPassword,
          ),
        );
        if (
          fields["flags"] !== "master" ||
          Number(fields["num-slaves"]) !== replicaCount ||
          Number(fields["num-other-sentinels"]) !== sentinelCount - 1
        ) {
          return false;
        }
      }
      return true;
    });
    return deployment;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

class ThrowawaySentinel implements RedisSentinel {
  readonly sentinelUrls: readonly string[];
  #stopping: Promise<void> | null = null;

  constructor(
    readonly masterName: string,
    readonly master: RedisServer,
    readonly replicas: readonly RedisServer[],
    readonly sentinels: readonly RedisServer[],
    readonly stopAll: () => Promise<unknown>,
    readonly password: string | undefined,
    readonly sentinelPassword: string | undefined,
  ) {
    this.sentinelUrls = sentinels.map((s) =>
      sentinelPassword === undefined ? s.url : s.url.replace(
        "redis://",
        `redis://:${encodeURIComponent(sentinelPassword)}@`,
      )
    );
  }

  get #dataNodes(): RedisServer[] {
    return [this.master, ...this.replicas];
  }

  async #namedPorts(): Promise<number[]> {
    const ports: number[] = [];
    for (const sentinel of this.sentinels) {
      if (sentinel.pid === undefined) continue;
      const reply = await ask(sentinel, [
        "SENTINEL",
        "GET-MASTER-ADDR-BY-NAME",
        this.masterName,
      ], this.sentinelPassword).catch(() => null);
      if (Array.isArray(reply)) ports.push(Number(reply[1]));
    }
    return ports;
  }

  async currentMaster(): Promise<RedisServer> {
    const [port] = await this.#namedPorts();
    const node = this.#dataNodes.find((n) => n.port === port);
    if (node === undefined) {
      throw new Error(`No Sentinel names a master of ${this.masterName}.`);
    }
    return node;
  }

  async failover(timeoutMs = 15_000): Promise<RedisServer> {
    const previous = await this.currentMaster();
    await ask(
      this.sentinels[0],
      ["SENTINEL", "FAILOVER", this.masterName],
      this.sentinelPassword,
    );
    return await this.waitForNewMaster(previous, timeoutMs);
  }

  async waitForNewMaster(
    previous: RedisServer,
    timeoutMs = 15_000,
  ): Promise<RedisServer> {
    let found: RedisServer | undefined;
    await until(
      performance.now() + timeoutMs,
      `the Sentinels to name a master other than port ${previous.port}`,
      async () => {
        const ports = await this.#namedPorts();
        if (ports.length === 0 || ports.some((p) => p !== ports[0])) {
          return false;
        }
        const node = this.#dataNodes.find((n) => n.port === ports[0]);
        if (node === undefined || node === previous) return false;
        const role = await ask(node, ["ROLE"], this.password).catch(() => null);
        if (!Array.isArray(role) || role[0] !== "master") return false;
        found = node;
        return true;
      },
    );
    return found!;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.stopAll().then(() => {});
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

function count(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new TypeError(`${name} must be an integer ≥ ${min}, got ${value}.`);
  }
  return n;
}

/** Checks `condition` every 50 ms until it holds, or throws at `deadline`. */
async function until(
  deadline: number,
  what: string,
  condition: () => Promise<boolean>,
): Promise<void> {
  while (!(await condition().catch(() => false))) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}.`);
    }
    await sleep(50);
  }
}
