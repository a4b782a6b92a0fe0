import assert from "node:assert/strict";
import {
  createRedisClient,
  type RedisClient,
  RedisConnectionError,
  RedisError,
  RedisReplyError,
} from "../../mod.ts";
import { RedisClusterClient } from "../../src/client/cluster.ts";
import { createRedisClusterClient } from "../../src/client/ha.ts";
import { commandKey, crc16, keySlot } from "../../src/client/_slot.ts";
import {
  type RedisCluster,
  startRedisCluster,
  startRedisServer,
} from "../../testing.ts";
import { closedPort } from "../../src/testing/closed_port.ts";
import { keyPerSlot } from "../helpers/cluster.ts";

const encoder = new TextEncoder();

/** One direct client per cluster node, for checking where data really is. */
async function nodeClients(cluster: RedisCluster): Promise<
  RedisClient[] & AsyncDisposable
> {
  const clients = await Promise.all(
    cluster.urls.map((url) => createRedisClient(url)),
  );
  return Object.assign(clients, {
    async [Symbol.asyncDispose]() {
      await Promise.all(clients.map((c) => c.close()));
    },
  });
}

/** Which node (by index) owns each slot, as the cluster itself says. */
async function slotOwners(
  cluster: RedisCluster,
  via: RedisClient,
): Promise<Map<number, number>> {
  const ranges = await via.send(["CLUSTER", "SLOTS"]) as [
    number,
    number,
    [string, number],
  ][];
  const owners = new Map<number, number>();
  for (const [start, end, [, port]] of ranges) {
    const index = cluster.nodes.findIndex((n) => n.port === port);
    for (let slot = start; slot <= end; slot++) owners.set(slot, index);
  }
  return owners;
}

Deno.test("keySlot matches Redis's CRC16 test vector and hash tag rules", () => {
  // The reference vector from the Redis Cluster specification.
  assert.equal(crc16(encoder.encode("123456789")), 0x31c3);
  assert.equal(keySlot("123456789"), 12739);
  assert.equal(keySlot(encoder.encode("123456789")), 12739);
  assert.equal(keySlot(123456789), 12739);
  // Keys that share a tag share a slot, and hash as the tag alone.
  assert.equal(keySlot("{user1000}.following"), keySlot("user1000"));
  assert.equal(
    keySlot("{user1000}.following"),
    keySlot("{user1000}.followers"),
  );
  // An empty first tag means no tag: the whole key is hashed.
  assert.equal(
    keySlot("foo{}{bar}"),
    crc16(encoder.encode("foo{}{bar}")) & 16383,
  );
  // Only the first "{" counts, up to the first "}" after it.
  assert.equal(keySlot("foo{{bar}}zap"), keySlot("{bar"));
  assert.equal(keySlot("foo{bar}{zap}"), keySlot("bar"));
  assert.equal(
    keySlot("no-close{tag"),
    crc16(encoder.encode("no-close{tag")) & 16383,
  );
  // Non-ASCII keys hash as UTF-8, as the server sees them.
  assert.equal(keySlot("ключ"), keySlot(encoder.encode("ключ")));
  assert.equal(keySlot("ключ{тег}x"), keySlot("тег"));
});

Deno.test("commandKey routes by args[1], scripts by the key after numkeys, keyless commands nowhere", () => {
  assert.equal(commandKey(["HGET", "k", "f"]), "k");
  assert.equal(commandKey(["hget", "k", "f"]), "k");
  assert.equal(commandKey(["EVALSHA", "abc", 1, "k", "arg"]), "k");
  assert.equal(commandKey(["EVAL", "return 1", "1", "k"]), "k");
  assert.equal(commandKey(["FCALL", "fn", 1, "k"]), "k");
  assert.equal(commandKey(["EVAL", "return 1", 0]), undefined);
  assert.equal(commandKey(["PING"]), undefined);
  assert.equal(commandKey(["SCRIPT", "LOAD", "return 1"]), undefined);
  assert.equal(commandKey(["CLUSTER", "SLOTS"]), undefined);
  assert.equal(commandKey(["MEMORY", "USAGE", "k"]), "k");
  assert.equal(
    commandKey(["XREAD", "COUNT", 1, "STREAMS", "stream", "0"]),
    "stream",
  );
});

Deno.test("keySlot agrees with the server's CLUSTER KEYSLOT", async () => {
  await using server = await startRedisServer({
    config: ["cluster-enabled yes", "cluster-config-file nodes.conf"],
  });
  await using client = await createRedisClient(server.url);
  const keys = [
    "123456789",
    "foo{}{bar}",
    "foo{{bar}}zap",
    "{user1000}.following",
    "ключ{тег}x",
    "emoji-🎉",
    "",
    ...Array.from({ length: 200 }, (_, i) => `s:app:user-${i * 7919}`),
  ];
  const server_slots = await Promise.all(
    keys.map((key) => client.send(["CLUSTER", "KEYSLOT", key])),
  );
  assert.deepEqual(keys.map((key) => keySlot(key)), server_slots);
});

Deno.test("1,000 keys land on all three masters, each on the master owning its slot", async () => {
  await using cluster = await startRedisCluster({ masters: 3 });
  await using client = await createRedisClusterClient(cluster.urls);
  assert.equal(client.masters.length, 3);
  const keys = Array.from({ length: 1000 }, (_, i) => `s:app:user-${i}`);
  await Promise.all(keys.map((key) => client.send(["HSET", key, "pn", "1"])));
  await using nodes = await nodeClients(cluster);
  const owners = await slotOwners(cluster, nodes[0]);
  const counts = await Promise.all(nodes.map((n) => n.send(["DBSIZE"])));
  assert.equal(counts.reduce((a, b) => Number(a) + Number(b), 0), 1000);
  assert.ok(counts.every((c) => Number(c) > 200), `spread: ${counts}`);
  for (const key of keys.slice(0, 100)) {
    const slot = await nodes[0].send(["CLUSTER", "KEYSLOT", key]);
    assert.equal(slot, keySlot(key));
    const owner = nodes[owners.get(slot as number)!];
    assert.equal(await owner.send(["EXISTS", key]), 1, key);
  }
  // Routed right the first time: nothing was redirected.
  assert.equal(client.stats.moved, 0);
});

Deno.test("a new client's slot map names the owner of every slot, slot 0, 16383 and the ends of every range included: none of 16,384 keys is redirected", async () => {
  await using cluster = await startRedisCluster({ masters: 3 });
  await using client = await createRedisClusterClient(cluster.urls);
  const keys = keyPerSlot();
  const replies = await Promise.all(
    keys.map((key) => client.send(["SET", key, "1"])),
  );
  assert.ok(replies.every((reply) => reply === "OK"));
  assert.equal(client.stats.moved, 0, "slots the map got wrong");
  assert.equal(client.stats.ask, 0);
});

Deno.test("500 concurrent INCRs per key on a cluster count exactly, in few writes", async () => {
  await using cluster = await startRedisCluster({ masters: 3 });
  await using client = await createRedisClusterClient(cluster.urls);
  const keys = ["counter-a", "counter-b", "counter-c", "{counter}-d"];
  const before = client.stats;
  await Promise.all(
    keys.flatMap((key) =>
      Array.from({ length: 500 }, () => client.send(["INCR", key]))
    ),
  );
  for (const key of keys) assert.equal(await client.send(["GET", key]), "500");
  const writes = client.stats.writes - before.writes;
  assert.ok(writes <= 12, `2,000 commands took ${writes} writes`);
});

Deno.test("resharding under load: the client follows ASK and MOVED and no increment is lost", async () => {
  await using cluster = await startRedisCluster({ masters: 3 });
  await using client = await createRedisClusterClient(cluster.urls);
  await using nodes = await nodeClients(cluster);
  const key = "s:app:busy-subject";
  const slot = keySlot(key);
  const owners = await slotOwners(cluster, nodes[0]);
  const source = nodes[owners.get(slot)!];
  const targetIndex = (owners.get(slot)! + 1) % nodes.length;
  const target = nodes[targetIndex];
  const [sourceId, targetId] = await Promise.all(
    [source, target].map(async (n) =>
      String(await n.send(["CLUSTER", "MYID"]))
    ),
  );

  let sent = 0;
  let done = 0;
  let running = true;
  const failures: unknown[] = [];
  // The test waits on the load itself: each finished batch wakes the waits
  // whose condition now holds, so nothing sleeps.
  const waits: { holds: () => boolean; resolve: () => void }[] = [];
  const until = (holds: () => boolean): Promise<void> =>
    holds() ? Promise.resolve() : new Promise((resolve) => {
      waits.push({ holds, resolve });
    });
  const load = (async () => {
    while (running) {
      const batch = Array.from(
        { length: 50 },
        () => client.send(["INCR", key]),
      );
      sent += batch.length;
      for (const result of await Promise.allSettled(batch)) {
        if (result.status === "rejected") failures.push(result.reason);
      }
      done += batch.length;
      for (const wait of waits.filter((w) => w.holds())) {
        waits.splice(waits.indexOf(wait), 1);
        wait.resolve();
      }
    }
  })();
  await until(() => done >= 500);

  // The documented live resharding steps, one slot from source to target.
  await target.send(["CLUSTER", "SETSLOT", slot, "IMPORTING", sourceId]);
  await source.send(["CLUSTER", "SETSLOT", slot, "MIGRATING", targetId]);
  const keysInSlot = await source.send([
    "CLUSTER",
    "GETKEYSINSLOT",
    slot,
    100,
  ]) as string[];
  assert.deepEqual(keysInSlot, [key]);
  await source.send([
    "MIGRATE",
    "127.0.0.1",
    cluster.nodes[targetIndex].port,
    "",
    0,
    5000,
    "KEYS",
    ...keysInSlot,
  ]);
  // The key has moved but the slot is still the source's: the source answers ASK.
  const asked = await Promise.all(
    Array.from({ length: 20 }, () => client.send(["INCR", key])),
  );
  sent += asked.length;
  assert.ok(client.stats.ask > 0, "no ASK redirect was followed");
  const movedBefore = client.stats.moved;
  for (const node of [target, source, ...nodes]) {
    await node.send(["CLUSTER", "SETSLOT", slot, "NODE", targetId]);
  }
  // The source now answers MOVED; wait until the client has followed one,
  // then for 500 more increments on the new owner.
  await until(() => client.stats.moved > movedBefore);
  const afterMove = done;
  await until(() => done >= afterMove + 500);
  running = false;
  await load;

  assert.deepEqual(failures, []);
  assert.equal(await target.send(["GET", key]), String(sent));
  assert.equal(
    await source.send(["CLUSTER", "COUNTKEYSINSLOT", slot]),
    0,
  );
  assert.equal(await client.send(["GET", key]), String(sent));
  assert.ok(client.stats.moved > movedBefore);
  assert.ok(client.stats.refreshes >= 2, "MOVED did not refresh the slot map");
});

Deno.test("a killed master without replica: its slots reject with RedisConnectionError by their deadline, other slots keep working", async () => {
  await using cluster = await startRedisCluster({
    masters: 3,
    nodeTimeoutMs: 500,
    config: ["cluster-require-full-coverage no"],
  });
  // Commands for its slots are retried until their deadline, in case a
  // replica takes over; there is none, so they reject then.
  await using client = await createRedisClusterClient(cluster.urls, {
    commandTimeoutMs: 1000,
  });
  await using nodes = await nodeClients(cluster);
  const owners = await slotOwners(cluster, nodes[0]);
  const victim = 1;
  const keys = Array.from({ length: 60 }, (_, i) => `s:app:user-${i}`);
  const onVictim = keys.filter((k) => owners.get(keySlot(k)) === victim);
  const elsewhere = keys.filter((k) => owners.get(keySlot(k)) !== victim);
  assert.ok(onVictim.length > 0 && elsewhere.length > 0);
  await Promise.all(keys.map((key) => client.send(["SET", key, "v"])));

  await cluster.nodes[victim].kill();
  // Long enough for the others to mark the victim as failed.
  const until = performance.now() + 1500;
  let rounds = 0;
  while (performance.now() < until || rounds < 3) {
    rounds++;
    const started = performance.now();
    const dead = await Promise.allSettled(
      onVictim.map((key) => client.send(["GET", key])),
    );
    const elapsed = performance.now() - started;
    for (const result of dead) {
      assert.equal(result.status, "rejected");
      const reason = (result as PromiseRejectedResult).reason;
      assert.ok(reason instanceof RedisConnectionError, String(reason));
    }
    assert.ok(elapsed < 2000, `dead slots took ${elapsed} ms to reject`);
    const alive = await Promise.all(
      elsewhere.map((key) => client.send(["GET", key])),
    );
    assert.ok(alive.every((v) => v === "v"));
  }
});

Deno.test("credentials of the seed URL apply to every node; the password never shows", async () => {
  await using cluster = await startRedisCluster({
    masters: 3,
    config: ["user alice on >s3cret-pass ~* &* +@all"],
  });
  await using nodes = await nodeClients(cluster);
  // Only now, so that redis-cli could form the cluster without a password.
  await Promise.all(
    nodes.map((n) => n.send(["ACL", "SETUSER", "default", "off"])),
  );
  const seed = cluster.urls[2].replace(
    "redis://",
    "redis://alice:s3cret-pass@",
  );
  await using client = await createRedisClusterClient(seed);
  await Promise.all(
    Array.from({ length: 100 }, (_, i) => client.send(["SET", `k${i}`, i])),
  );
  assert.equal(await client.send(["GET", "k99"]), "99");
  for (
    const text of [
      ...client.urls,
      String(client),
      JSON.stringify(client),
      Deno.inspect(client),
      ...client.masters,
    ]
  ) {
    assert.ok(!text.includes("s3cret"), text);
  }
  const refused = await createRedisClusterClient(
    cluster.urls[0].replace("redis://", "redis://alice:wrong-pass@"),
  ).catch((e) => e);
  assert.ok(refused instanceof RedisReplyError, String(refused));
  assert.equal(refused.code, "WRONGPASS");
  assert.ok(!refused.message.includes("wrong-pass"));
});

Deno.test("too many redirects reject with a clear RedisError", async () => {
  await using cluster = await startRedisCluster({ masters: 3 });
  await using client = await createRedisClusterClient(cluster.urls, {
    maxRedirects: 0,
  });
  await using nodes = await nodeClients(cluster);
  const owners = await slotOwners(cluster, nodes[0]);
  const slot = keySlot("moving");
  const to = (owners.get(slot)! + 1) % nodes.length;
  const toId = String(await nodes[to].send(["CLUSTER", "MYID"]));
  for (const node of [nodes[to], ...nodes]) {
    await node.send(["CLUSTER", "SETSLOT", slot, "NODE", toId]);
  }
  const error = await client.send(["GET", "moving"]).catch((e) => e);
  assert.ok(error instanceof RedisError, String(error));
  assert.match(
    error.message,
    /GET did not reach its slot's owner within maxRedirects \(0\); the last reply was MOVED/,
  );
  assert.ok(error.cause instanceof RedisReplyError);
  // The MOVED still taught the client the new owner.
  assert.equal(await client.send(["GET", "moving"]), null);
});

Deno.test("createRedisClusterClient rejects bad seeds before or at connect, with clear errors", async () => {
  assert.throws(
    () => new RedisClusterClient([]),
    /at least one seed URL/,
  );
  assert.throws(
    () => new RedisClusterClient("redis://127.0.0.1:7000/3"),
    (e: unknown) => e instanceof TypeError && /only database 0/.test(e.message),
  );
  assert.throws(
    () => new RedisClusterClient("http://127.0.0.1:7000"),
    TypeError,
  );
  await using single = await startRedisServer();
  const notCluster = await createRedisClusterClient(
    single.url.replace(/\/0$/, ""),
  )
    .catch((e) => e);
  assert.ok(notCluster instanceof RedisReplyError, String(notCluster));
  assert.match(
    notCluster.message,
    /not in cluster mode; use createRedisClient/,
  );
  const port = await closedPort();
  const unreachable = await createRedisClusterClient(
    `redis://127.0.0.1:${port}`,
    { connectTimeoutMs: 1000 },
  ).catch((e) => e);
  assert.ok(unreachable instanceof RedisConnectionError, String(unreachable));
  assert.match(unreachable.message, /Cannot read the slot map/);
});

Deno.test("close() lets in-flight commands finish on every master, then send rejects", async () => {
  await using cluster = await startRedisCluster({ masters: 3 });
  const client = await createRedisClusterClient(cluster.urls);
  const inFlight = Array.from(
    { length: 300 },
    (_, i) => client.send(["SET", `k${i}`, i]),
  );
  const closed = client.close();
  assert.ok((await Promise.all(inFlight)).every((r) => r === "OK"));
  await closed;
  await assert.rejects(client.send(["GET", "k1"]), RedisConnectionError);
  assert.equal(client.closed, true);
});
