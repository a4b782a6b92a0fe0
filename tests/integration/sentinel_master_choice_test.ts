/**
 * Which node a Sentinel client takes as master, and when it stops using one:
 * only a node that answers `ROLE` as a master, never the old master once a
 * `+switch-master` names another, and a master busy `LOADING` its data is
 * waited for. The Sentinels are fakes (they must name a replica, or announce
 * a switch, on cue); the data nodes are real redis-servers.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisClient, createRedisSentinelClient } from "../../mod.ts";
import type { RedisSentinelClient } from "../../client.ts";
import { type RedisServer, startRedisServer } from "../../testing.ts";
import {
  type FakeSentinel,
  type FakeSentinelView,
  startFakeSentinel,
} from "../helpers/fake_sentinel.ts";
import { startBlackholeProxy } from "../helpers/tcp_fakes.ts";

/** Three fake Sentinels for "mymaster", each with its own view. */
function fakes(
  views: FakeSentinelView[],
): FakeSentinel[] & AsyncDisposable {
  const list = views.map((view) => startFakeSentinel("mymaster", view));
  return Object.assign(list, {
    async [Symbol.asyncDispose]() {
      await Promise.all(list.map((f) => f[Symbol.asyncDispose]()));
    },
  });
}

/** A view naming `node` as master under `epoch`. */
function naming(node: RedisServer, epoch = 1): FakeSentinelView {
  return {
    masterPort: node.port,
    addressPort: node.port,
    epoch,
    flags: "master",
  };
}

/** Resolves once `check` holds; fails the test after `tries` looks 10 ms apart. */
async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  tries = 2000,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Never happened: ${what}.`);
}

Deno.test("Sentinel client: a node the Sentinels name but that answers ROLE as a replica is not taken as master", async () => {
  await using master = await startRedisServer();
  await using replica = await startRedisServer({
    config: [`replicaof 127.0.0.1 ${master.port}`],
  });
  // Two Sentinels name the replica (as after a failover they got wrong),
  // one the master: the most named candidate is tried first.
  await using sentinels = fakes([
    naming(replica),
    naming(replica),
    naming(master),
  ]);
  await using client = await createRedisSentinelClient(
    sentinels.map((f) => f.url),
    { masterName: "mymaster", commandTimeoutMs: 5000 },
  );
  assert.equal(client.master, master.url);
  assert.equal(await client.send(["SET", "k", "v"]), "OK");
  await using onMaster = await createRedisClient(master.url);
  assert.equal(await onMaster.send(["GET", "k"]), "v");
});

Deno.test("Sentinel client: once +switch-master names another node, nothing more goes to the old master, even before the new one answers", async () => {
  await using a = await startRedisServer();
  await using b = await startRedisServer();
  await using sentinels = fakes([naming(a), naming(a), naming(a)]);
  await using client = await createRedisSentinelClient(
    sentinels.map((f) => f.url),
    { masterName: "mymaster", commandTimeoutMs: 5000 },
  );
  await Promise.all(sentinels.map((f) => f.subscribed()));
  assert.equal(client.master, a.url);
  // The new master cannot answer yet: the client can only stop using the
  // old one, not move to the new one, until it thaws.
  b.pause();
  try {
    for (const fake of sentinels) fake.view = naming(b, 2);
    sentinels[0].publish(
      "+switch-master",
      `mymaster 127.0.0.1 ${a.port} 127.0.0.1 ${b.port}`,
    );
    await until(
      "the client leaves the old master",
      () => client.master !== a.url,
    );
    assert.equal(client.master, undefined, "no master while B is frozen");
  } finally {
    b.resume();
  }
  await until("the client takes B", () => client.master === b.url);
  assert.equal(await client.send(["SET", "after", "1"]), "OK");
  await using onA = await createRedisClient(a.url);
  await using onB = await createRedisClient(b.url);
  assert.equal(await onB.send(["GET", "after"]), "1");
  assert.equal(await onA.send(["EXISTS", "after"]), 0);
});

Deno.test("Sentinel client: a master the Sentinels named before a +switch-master arrived is not taken after it, however late its ROLE answer comes", async () => {
  await using a = await startRedisServer();
  await using b = await startRedisServer();
  // A is reached through a proxy, which counts the connections made to it.
  await using toA = startBlackholeProxy(a.port);
  const viaProxy = { masterPort: toA.port, addressPort: toA.port };
  await using sentinels = fakes([1, 2, 3].map(() => ({
    ...viaProxy,
    epoch: 1,
    flags: "master",
  })));
  await using client = await createRedisSentinelClient(
    sentinels.map((f) => f.url),
    { masterName: "mymaster", commandTimeoutMs: 10_000 },
  );
  await Promise.all(sentinels.map((f) => f.subscribed()));
  assert.equal(client.master, toA.url);
  // A freezes; then an event has the client ask the Sentinels again. They
  // still name A, and the client's ROLE probe of A hangs.
  a.pause();
  let resumed = false;
  try {
    const connections = toA.accepted;
    sentinels[0].publish(
      "-failover-abort-not-elected",
      `master mymaster 127.0.0.1 ${toA.port}`,
    );
    await until("the client probes A", () => toA.accepted > connections);
    // Meanwhile the failover promotes B, and a Sentinel announces it.
    for (const fake of sentinels) fake.view = naming(b, 2);
    sentinels[1].publish(
      "+switch-master",
      `mymaster 127.0.0.1 ${toA.port} 127.0.0.1 ${b.port}`,
    );
    await until("the client leaves A", () => client.master === undefined);
    // Now A answers the probe, as a master: it has not been demoted yet.
    a.resume();
    resumed = true;
    await until("the client takes a master", () => client.master !== undefined);
  } finally {
    if (!resumed) a.resume();
  }
  assert.equal(client.master, b.url);
  assert.equal(await client.send(["SET", "after", "1"]), "OK");
  await using onA = await createRedisClient(a.url);
  await using onB = await createRedisClient(b.url);
  assert.equal(await onB.send(["GET", "after"]), "1");
  assert.equal(await onA.send(["EXISTS", "after"]), 0);
});

Deno.test("Sentinel client: after +switch-master the replaced master is not taken while the Sentinels name it at the old epoch, even with the new one out of reach; a later failover back to it is followed", async () => {
  await using a = await startRedisServer();
  await using b = await startRedisServer();
  // The Sentinels lag behind the announcement: they name A at epoch 1.
  await using sentinels = fakes([naming(a), naming(a), naming(a)]);
  await using client = await createRedisSentinelClient(
    sentinels.map((f) => f.url),
    { masterName: "mymaster", commandTimeoutMs: 20_000 },
  );
  await Promise.all(sentinels.map((f) => f.subscribed()));
  assert.equal(client.master, a.url);
  // B, announced as the new master, cannot be reached for a while.
  b.pause();
  let set: Promise<unknown>;
  try {
    sentinels[0].publish(
      "+switch-master",
      `mymaster 127.0.0.1 ${a.port} 127.0.0.1 ${b.port}`,
    );
    await until("the client leaves A", () => client.master === undefined);
    set = client.send(["SET", "k", "1"]);
    // Two resolutions end while B is frozen: each tries B, then the others
    // the Sentinels name; A still answers ROLE as a master.
    const resolutions = client.stats.resolutions;
    await until(
      "two more resolutions, or a master taken",
      () =>
        client.stats.resolutions >= resolutions + 2 ||
        client.master !== undefined,
    );
    assert.equal(client.master, undefined, "A taken while B was frozen");
  } finally {
    b.resume();
  }
  assert.equal(await set, "OK");
  assert.equal(client.master, b.url);
  await using onA = await createRedisClient(a.url);
  await using onB = await createRedisClient(b.url);
  assert.equal(await onA.send(["EXISTS", "k"]), 0);
  assert.equal(await onB.send(["GET", "k"]), "1");

  // A failover back to A that the client missed: the Sentinels name A at a
  // newer epoch, and B is a replica now.
  for (const fake of sentinels) fake.view = naming(a, 3);
  await using ownB = await onB.duplicate();
  assert.equal(
    await ownB.send(["REPLICAOF", "127.0.0.1", String(a.port)]),
    "OK",
  );
  assert.equal(await client.send(["SET", "back", "1"]), "OK");
  assert.equal(client.master, a.url);
  assert.equal(await onA.send(["GET", "back"]), "1");
});

Deno.test("Sentinel client: a command the master answers LOADING (it is reloading its data) is sent again once loading ends", async () => {
  const KEYS = 10_000;
  await using master = await startRedisServer({
    // Loading takes at least KEYS × 200 µs of sleep, however fast the
    // machine; the server answers LOADING meanwhile.
    config: [
      "key-load-delay 200",
      "loading-process-events-interval-bytes 1024",
      "enable-debug-command local",
    ],
  });
  await using admin = await createRedisClient(master.url, {
    commandTimeoutMs: 0,
  });
  const sets: Promise<unknown>[] = [];
  for (let i = 0; i < KEYS; i++) sets.push(admin.send(["SET", `k${i}`, i]));
  await Promise.all(sets);
  await using sentinels = fakes([
    naming(master),
    naming(master),
    naming(master),
  ]);
  await using client: RedisSentinelClient = await createRedisSentinelClient(
    sentinels.map((f) => f.url),
    { masterName: "mymaster", commandTimeoutMs: 30_000 },
  );
  assert.equal(await client.send(["PING"]), "PONG");
  // The client's connection stays up while the master reloads: its next
  // command is answered LOADING, not refused at connect.
  await using watcher = await createRedisClient(master.url, {
    commandTimeoutMs: 30_000,
  });
  const reload = admin.send(["DEBUG", "RELOAD"]);
  // Half the keys still to load: at least KEYS / 2 × 200 µs = 1 s left.
  await until("the master reports loading its first half", async () => {
    const info = String(await watcher.send(["INFO", "persistence"]));
    const loaded = /loading_loaded_perc:([\d.]+)/.exec(info)?.[1];
    return info.includes("loading:1") && Number(loaded) < 50;
  });
  const retriesBefore = client.stats.retries;
  assert.equal(await client.send(["SET", "during", "1"]), "OK");
  assert.equal(await reload, "OK");
  assert.ok(
    client.stats.retries > retriesBefore,
    `the SET met LOADING and was sent again: ${JSON.stringify(client.stats)}`,
  );
  assert.equal(await admin.send(["GET", "during"]), "1");
  assert.equal(await admin.send(["DBSIZE"]), KEYS + 1);
});
