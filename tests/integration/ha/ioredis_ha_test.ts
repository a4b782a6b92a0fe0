// ioredis's debug dependency enumerates the environment when imported, so
// this file runs in its own `deno test` with --allow-env (see deno.json).
import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisSentinelClient,
  createRedisStorage,
} from "../../../mod.ts";
import type { StorageFactory } from "../../../src/storage/types.ts";
import { type RedisServer, startRedisSentinel } from "../../../testing.ts";
import { loadIoredis } from "../../helpers/clients.ts";
import { COUNTER, startFailoverLoad } from "../../helpers/failover.ts";
import { reportFigures } from "../../helpers/figures.ts";

type Scenario = "crash" | "graceful";

interface Outcome {
  /** The longest time without a successful write, from the kill (or the failover's start) on. */
  gapMs: number;
  errors: Record<string, number>;
  /** Increments that resolved but the new master does not have. */
  lost: number;
}

/**
 * The same deployment, load and failover for one client: 1 master, 2
 * replicas, 3 Sentinels, 4 writers without waitReplicas (ioredis has no
 * such option).
 */
async function underFailover(
  scenario: Scenario,
  open: (
    sentinelUrls: readonly string[],
    masterName: string,
  ) => Promise<{ storage: StorageFactory; close(): Promise<void> }>,
): Promise<Outcome> {
  await using deployment = await startRedisSentinel({
    replicas: 2,
    sentinels: 3,
  });
  const client = await open(deployment.sentinelUrls, deployment.masterName);
  const load = startFailoverLoad(client.storage, 4, 15_000);
  try {
    await load.succeeded(200);
    let from: number;
    let promoted: RedisServer;
    if (scenario === "crash") {
      await deployment.master.kill();
      from = performance.now();
      promoted = await deployment.waitForNewMaster(deployment.master);
    } else {
      from = performance.now();
      promoted = await deployment.failover();
    }
    await load.succeeded(200, performance.now());
    await load.stop();
    let gap = 0;
    for (let i = 1; i < load.successes.length; i++) {
      if (load.successes[i] > from) {
        gap = Math.max(
          gap,
          load.successes[i] - Math.max(from, load.successes[i - 1]),
        );
      }
    }
    // Read from the new master itself: a client still writing to the old
    // one would read its own writes there, which the failover discards.
    await using direct = await createRedisClient(promoted.url);
    const count = Number(await direct.send(["HGET", `s:${COUNTER}`, "pn"]));
    return {
      gapMs: Math.round(gap),
      errors: { ...load.errors },
      lost: Math.max(0, load.increments - count),
    };
  } finally {
    await load.stop();
    await client.close();
  }
}

async function openOurs(urls: readonly string[], masterName: string) {
  const client = await createRedisSentinelClient(urls, { masterName });
  return {
    storage: createRedisStorage(client),
    close: () => client.close(),
  };
}

async function openIoredis(urls: readonly string[], masterName: string) {
  const { Redis } = await loadIoredis();
  const client = new Redis({
    sentinels: urls.map((url) => {
      const { hostname, port } = new URL(url);
      return { host: hostname, port: Number(port) };
    }),
    name: masterName,
    lazyConnect: true,
  });
  // It reports every refused reconnect as an "error" event; the load counts
  // what callers see.
  client.on("error", () => {});
  await client.connect();
  return {
    storage: createRedisStorage(client),
    close: () => {
      client.disconnect();
      return Promise.resolve();
    },
  };
}

for (const scenario of ["crash", "graceful"] as const) {
  Deno.test(`Side by side, Sentinel ${scenario}: this client and ioredis (sentinels) under the same load`, async () => {
    const ours = await underFailover(scenario, openOurs);
    const theirs = await underFailover(scenario, openIoredis);
    for (
      const [name, o] of [["redis-subjects", ours], [
        "ioredis",
        theirs,
      ]] as const
    ) {
      reportFigures(
        `Sentinel ${scenario}, side by side (no waitReplicas), ${name}: longest time without a successful write ${o.gapMs} ms, caller errors ${
          JSON.stringify(o.errors)
        }, ${o.lost} acknowledged increments lost`,
      );
    }
    if (scenario === "graceful") {
      assert.deepEqual(ours.errors, {});
      assert.equal(ours.lost, 0);
    }
  });
}
