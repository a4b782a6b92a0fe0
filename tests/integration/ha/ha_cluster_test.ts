import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisClusterClient,
  createRedisStorage,
  RedisReplyError,
  RedisTimeoutError,
} from "../../../mod.ts";
import { RedisClusterClient } from "../../../client.ts";
import { SubjectProperty } from "../../../storage.ts";
import { keySlot } from "../../../src/client/_slot.ts";
import { MIN_REFRESH_GAP_MS } from "../../../src/client/_slot_map.ts";
import type { RedisServer } from "../../../testing.ts";
import { startRedisCluster } from "../../../testing.ts";
import {
  ambiguous,
  COUNTER,
  startFailoverLoad,
} from "../../helpers/failover.ts";
import { reportFigures } from "../../helpers/figures.ts";
import { keyPerSlot } from "../../helpers/cluster.ts";

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

Deno.test("Cluster: a command the cluster refuses with CLUSTERDOWN until its deadline rejects as not executed, CLUSTERDOWN as its cause", async () => {
  // No replicas: once a master is marked failed, the cluster stays down.
  await using cluster = await startRedisCluster({
    masters: 3,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
  });
  await using client = await createRedisClusterClient(cluster.urls, {
    commandTimeoutMs: 500,
  });
  const [victim, survivor] = cluster.nodes;
  // A key whose slot the survivor owns: its node answers, with CLUSTERDOWN.
  let key = "k0";
  for (let i = 1; (await cluster.ownerOf(keySlot(key))) !== survivor; i++) {
    key = `k${i}`;
  }
  await client.send(["SET", key, "before"]);
  await victim.kill();
  await using direct = await createRedisClient(survivor.url);
  // The survivor says the cluster is down once it marks the victim failed.
  for (let i = 0; i < 500; i++) {
    const info = String(await direct.send(["CLUSTER", "INFO"]));
    if (info.includes("cluster_state:fail")) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const started = performance.now();
  const error = await client.send(["SET", key, "during"]).catch((e) => e);
  const elapsed = performance.now() - started;
  assert.ok(error instanceof RedisTimeoutError, String(error));
  assert.equal(error.executed, "no");
  assert.match(error.message, /SET was not executed/);
  assert.ok(
    error.cause instanceof RedisReplyError &&
      error.cause.code === "CLUSTERDOWN",
    String(error.cause),
  );
  assert.ok(elapsed < 500 + 1000, `settled after ${elapsed} ms`);
});

Deno.test("Cluster, crash: commands for a dead master's slots are sent again to the new owner, and every slot of every range is served after", async () => {
  await using cluster = await startRedisCluster({
    masters: 3,
    replicasPerMaster: 1,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
  });
  // A deadline that outlasts the failover: nothing need fail.
  await using client = await createRedisClusterClient(cluster.urls, {
    commandTimeoutMs: 15_000,
    slotsRefreshIntervalMs: 0,
  });
  const keys = keyPerSlot();
  const victim = cluster.nodes[1];
  const victimAddress = `127.0.0.1:${victim.port}`;
  const replica = await replicaOf(victim, cluster.replicas);
  // Every connection up, so that none is opened lazily to the dead node.
  assert.ok(
    (await Promise.all(keys.map((key) => client.send(["SET", key, "0"]))))
      .every((reply) => reply === "OK"),
  );
  const lost = new Promise<void>((resolve) =>
    client.addEventListener("disconnect", (event) => {
      if (event.address === victimAddress) resolve();
    })
  );
  await victim.kill();
  // Once the client knows the connection is gone, nothing is on its wire:
  // every command below is certainly not executed by the dead node.
  await lost;
  const replies = await Promise.allSettled(
    keys.map((key) => client.send(["SET", key, "1"])),
  );
  const failed = replies.flatMap((r, slot) =>
    r.status === "rejected" ? [`${slot}: ${r.reason}`] : []
  );
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} failed`);
  assert.ok(client.masters.includes(replica.url.replace(/\/0$/, "")));
  // The map now names every slot's owner exactly, the first and last slot
  // of every range included: no command needs a redirect.
  const moved = client.stats.moved;
  const values = await Promise.all(
    keys.map((key) => client.send(["GET", key])),
  );
  const stale = values.flatMap((v, slot) => v === "1" ? [] : [slot]);
  assert.deepEqual(stale, [], "slots that did not read back their write");
  assert.equal(client.stats.moved, moved, "the slot map missed some slots");
  // And each write is on the node that owns its slot now.
  await using promoted = await createRedisClient(
    replica.url.replace(/\/0$/, ""),
  );
  const ranges = await promoted.send(["CLUSTER", "SLOTS"]) as [
    number,
    number,
    [string, number],
  ][];
  const owned = ranges.filter((range) => range[2][1] === replica.port);
  assert.ok(owned.length > 0, JSON.stringify(ranges));
  for (const [first, last] of owned) {
    for (const slot of [first, last, (first + last) >> 1]) {
      assert.equal(await promoted.send(["GET", keys[slot]]), "1");
    }
  }
});
