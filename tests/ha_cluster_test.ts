import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisClusterClient,
  createRedisStorage,
} from "../mod.ts";
import { RedisClusterClient } from "../client.ts";
import { SubjectProperty } from "../storage.ts";
import { keySlot } from "../src/client/_slot.ts";
import { MIN_REFRESH_GAP_MS } from "../src/client/_slot_map.ts";
import type { RedisServer } from "../testing.ts";
import { startRedisCluster } from "../testing.ts";
import { ambiguous, COUNTER, startFailoverLoad } from "./helpers_failover.ts";
import { reportFigures } from "./helpers_figures.ts";

const NODE_TIMEOUT_MS = 1000;
const COUNTER_SLOT = keySlot(`s:${COUNTER}`);

/** The replica that replicates `master`. */
async function replicaOf(
  master: RedisServer,
  replicas: readonly RedisServer[],
): Promise<RedisServer> {
  for (const replica of replicas) {
    await using client = await createRedisClient(
      replica.url.replace(/\/0$/, ""),
    );
    const info = String(await client.send(["INFO", "replication"]));
    if (info.includes(`master_port:${master.port}\r`)) return replica;
  }
  throw new Error(`No replica of port ${master.port}`);
}

/** Resolves with the time `replica` first answers ROLE as a master. */
async function promotion(replica: RedisServer): Promise<number> {
  await using client = await createRedisClient(
    replica.url.replace(/\/0$/, ""),
  );
  for (let i = 0; i < 1000; i++) {
    const role = await client.send(["ROLE"]);
    if (Array.isArray(role) && role[0] === "master") return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${replica.url} was not promoted`);
}

Deno.test("Cluster, crash: a killed master's replica takes over; waitReplicas 1 loses no acknowledged write and no CLUSTERDOWN reaches a caller", async () => {
  // Two replicas per master: once one is promoted, the other follows it
  // and still confirms writes.
  await using cluster = await startRedisCluster({
    masters: 3,
    replicasPerMaster: 2,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
  });
  await using client = await createRedisClusterClient(cluster.urls);
  const victim = await cluster.ownerOf(COUNTER_SLOT);
  const load = startFailoverLoad(
    createRedisStorage(client, { waitReplicas: 1, waitTimeoutMs: 500 }),
  );
  try {
    await load.succeeded(200);
    const refreshesBefore = client.stats.refreshes;
    await victim.kill();
    const killedAt = performance.now();
    // The counter lives on the victim's slots: wait for increments there.
    const firstIncrement = await load.incrementedAfter(50, killedAt);
    const recoveredAt = performance.now();
    await load.stop();
    const storage = createRedisStorage(client);
    const count = Number(
      await storage(COUNTER).get(new SubjectProperty("n")),
    );
    const refreshes = client.stats.refreshes - refreshesBefore;
    const seconds = (recoveredAt - killedAt) / 1000;
    const unknown = ambiguous(load.errors);
    reportFigures(
      `Cluster crash, waitReplicas 1: first increment on the killed master's slots ${
        Math.round(firstIncrement - killedAt)
      } ms after SIGKILL (node-timeout ${NODE_TIMEOUT_MS} ms); caller errors ${
        JSON.stringify(load.errors)
      }; counter ${count}, ${load.increments} increments resolved, ${unknown} in doubt; ${refreshes} slot-map reads in ${
        seconds.toFixed(1)
      } s`,
    );
    assert.equal(load.errors.RedisReplyError ?? 0, 0, load.samples.join(" | "));
    assert.ok(count >= load.increments, "an acknowledged increment was lost");
    assert.ok(count <= load.increments + unknown, `${count} is too many`);
    for (const [i, seq] of load.lastStored.entries()) {
      const stored = Number(
        await storage(`writer-${i}`).get(new SubjectProperty("seq")),
      );
      assert.ok(stored >= seq, `writer ${i}: ${stored} < acknowledged ${seq}`);
    }
    assert.ok(!client.masters.includes(victim.url.replace(/\/0$/, "")));
    // One refresh at a time, and at most one per gap.
    assert.ok(
      refreshes <= Math.ceil((recoveredAt - killedAt) / MIN_REFRESH_GAP_MS) + 2,
      `${refreshes} refreshes in ${seconds} s`,
    );
  } finally {
    await load.stop();
  }
});

Deno.test("Cluster, hung master: a SIGSTOPped master's slots are served by its promoted replica within node-timeout + 2 s, with no SIGCONT", async () => {
  await using cluster = await startRedisCluster({
    masters: 3,
    replicasPerMaster: 1,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
  });
  await using client = await createRedisClusterClient(cluster.urls, {
    commandTimeoutMs: 1000,
  });
  const victim = await cluster.ownerOf(COUNTER_SLOT);
  const replica = await replicaOf(victim, cluster.replicas);
  const load = startFailoverLoad(createRedisStorage(client));
  try {
    await load.succeeded(200);
    victim.pause();
    const pausedAt = performance.now();
    const promotedAt = await promotion(replica);
    // Nothing on the frozen master's slots can succeed until a replica
    // serves them (but replies it sent just before the signal).
    const served = await load.incrementedAfter(50, promotedAt);
    await load.stop();
    reportFigures(
      `Cluster hung master: replica promoted ${
        Math.round(promotedAt - pausedAt)
      } ms after SIGSTOP; its slots served again ${
        Math.round(served - pausedAt)
      } ms after SIGSTOP (${
        Math.round(served - promotedAt)
      } ms after the promotion); caller errors ${JSON.stringify(load.errors)}`,
    );
    assert.ok(
      served > promotedAt && served - promotedAt <= NODE_TIMEOUT_MS + 2000,
      `served ${served - promotedAt} ms after the promotion`,
    );
    assert.deepEqual(
      client.masters.includes(victim.url.replace(/\/0$/, "")),
      false,
      "the frozen node is still listed as a master",
    );
    assert.ok(client.masters.includes(replica.url.replace(/\/0$/, "")));
  } finally {
    await load.stop();
  }
});

Deno.test("Cluster: slotsRefreshIntervalMs learns of a failover with no command failing", async () => {
  await using cluster = await startRedisCluster({
    masters: 3,
    replicasPerMaster: 1,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
  });
  await using client = await createRedisClusterClient(cluster.urls, {
    slotsRefreshIntervalMs: 200,
  });
  const [master] = cluster.nodes;
  const replica = await replicaOf(master, cluster.replicas);
  await using direct = await createRedisClient(
    replica.url.replace(/\/0$/, ""),
  );
  // A graceful, manual failover: nothing fails, only the map changes.
  await direct.send(["CLUSTER", "FAILOVER"]);
  const replicaUrl = replica.url.replace(/\/0$/, "");
  const refreshes = client.stats.refreshes;
  // Bounded: the interval is 200 ms, so a few hundred ms after the switch.
  for (let i = 0; i < 500 && !client.masters.includes(replicaUrl); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(client.masters.includes(replicaUrl), String(client.masters));
  assert.ok(client.stats.refreshes > refreshes);
  assert.throws(
    () => new RedisClusterClient(cluster.urls, { slotsRefreshIntervalMs: -1 }),
    TypeError,
  );
});
