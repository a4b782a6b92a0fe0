import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  createRedisClient,
  createRedisStorage,
  KRules,
  notExecuted,
  RedisConnectionError,
  RedisReplyError,
  RedisTimeoutError,
} from "../../mod.ts";
import { SubjectsRedisStorage } from "../../storage.ts";
import {
  fromDenoRedis,
  fromNodeRedis,
  type RedisSender,
} from "../../client.ts";
import { toRedisSender } from "../../src/client/adapters/mod.ts";
import { startRedisCluster, startRedisServer } from "../../testing.ts";
import {
  CLUSTER_CLIENTS,
  DenoRedisStandIn,
  SERVER_CLIENTS,
} from "../helpers/clients.ts";
import { defineAdapterTests } from "../contracts/adapter_contract.ts";

// ioredis runs these in adapters_ioredis_test.ts, which needs a wider --allow-env.
for (const kind of SERVER_CLIENTS) defineAdapterTests(kind);

for (const kind of CLUSTER_CLIENTS) {
  Deno.test(`${kind.name}: scripts are routed by the key after numkeys, with no MOVED redirects`, async () => {
    await using cluster = await startRedisCluster({ masters: 3 });
    await using fixture = await kind.open(cluster.urls);
    const redis = fixture.commands;
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        redis.send([
          "EVAL",
          "return redis.call('INCR', KEYS[1])",
          1,
          `s:app:user-${i}`,
        ])),
    );
    assert.ok(replies.every((r) => r === 1), String(replies));
    assert.equal(await redis.send(["GET", "s:app:user-7"]), "1");
    const wrongType = await redis.send(["HGET", "s:app:user-7", "f"]).catch(
      (e) => e,
    );
    assert.ok(wrongType instanceof RedisReplyError, String(wrongType));
    assert.equal(wrongType.code, "WRONGTYPE");
    // Every node counts the MOVED errors it sent: none means routed right.
    let moved = 0;
    for (const url of cluster.urls) {
      await using node = await createRedisClient(url);
      const info = String(await node.send(["INFO", "errorstats"]));
      moved += Number(/errorstat_MOVED:count=(\d+)/.exec(info)?.[1] ?? 0);
    }
    assert.equal(moved, 0);
  });
}

Deno.test("node-redis 5 with RESP: 3 chosen: maps and sets arrive as flat arrays in server order, as over RESP2", async () => {
  await using server = await startRedisServer();
  const { createClient } = await import("redis5");
  const client = createClient({ url: server.url, RESP: 3 });
  await client.connect();
  try {
    const redis = fromNodeRedis(client);
    await redis.send(["HSET", "h", "a", "1", "2", "two"]);
    await redis.send(["SADD", "set", "only"]);
    assert.deepEqual(await redis.send(["HGETALL", "h"]), [
      "a",
      "1",
      "2",
      "two",
    ]);
    assert.deepEqual(await redis.send(["SMEMBERS", "set"]), ["only"]);
    assert.equal(await redis.send(["HGET", "h", "missing"]), null);
    assert.equal(await redis.send(["EXISTS", "h"]), 1);
  } finally {
    await client.close();
  }
});

Deno.test("node-redis with buffer type mapping: buffers arrive as text", async () => {
  await using server = await startRedisServer();
  const { createClient, RESP_TYPES } = await import("redis");
  const client = createClient({
    url: server.url,
    commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
  });
  await client.connect();
  try {
    const redis = fromNodeRedis(client);
    await redis.send(["SET", "k", "välue"]);
    const raw = await client.sendCommand(["GET", "k"]);
    assert.ok(raw instanceof Uint8Array, "the mapping really yields buffers");
    assert.equal(await redis.send(["GET", "k"]), "välue");
    assert.deepEqual(await redis.send(["MGET", "k", "none"]), ["välue", null]);
  } finally {
    await client.close();
  }
});

Deno.test("a closed node-redis client rejects with RedisConnectionError", async () => {
  await using server = await startRedisServer();
  const { createClient } = await import("redis");
  const client = createClient({ url: server.url });
  await client.connect();
  const redis = fromNodeRedis(client);
  await client.close();
  const error = await redis.send(["PING"]).catch((e) => e);
  assert.ok(error instanceof RedisConnectionError, String(error));
  assert.ok(error.cause instanceof Error);
  // node-redis refuses it before queueing: it was certainly not executed.
  assert.equal(error.executed, "no");
});

Deno.test("node-redis 6: a command that timed out waiting to be sent is a RedisTimeoutError with executed no", async () => {
  const server = await startRedisServer();
  const { createClient } = await import("redis");
  const client = createClient({
    url: server.url,
    commandOptions: { timeout: 100 },
  });
  client.on("error", () => {});
  await client.connect();
  try {
    const redis = fromNodeRedis(client);
    const down = new Promise((resolve) => client.once("reconnecting", resolve));
    await server.stop();
    await down;
    // No server to send it to: it waits in node-redis's queue until its
    // timeout takes it off, unsent.
    const error = await redis.send(["SET", "k", "v"]).catch((e) => e);
    assert.ok(error instanceof RedisTimeoutError, String(error));
    assert.equal(error.cause?.constructor.name, "TimeoutError");
    assert.equal(error.executed, "no");
  } finally {
    client.destroy();
  }
});

Deno.test("@db/redis: the leading '-' of ErrorReplyError is dropped from the code and message", async () => {
  await using server = await startRedisServer();
  const standIn = new DenoRedisStandIn(await createRedisClient(server.url));
  try {
    const redis = fromDenoRedis(standIn);
    await redis.send(["SET", "str", "v"]);
    const error = await redis.send(["LPUSH", "str", "x"]).catch((e) => e);
    assert.ok(error instanceof RedisReplyError, String(error));
    assert.equal(error.code, "WRONGTYPE");
    assert.ok(!error.message.startsWith("-"), error.message);
    assert.equal(error.cause?.constructor.name, "ErrorReplyError");
  } finally {
    await standIn.close();
  }
});

Deno.test("toRedisSender passes any object with send(args) through unchanged", () => {
  const own: RedisSender = { send: () => Promise.resolve("PONG") };
  assert.equal(toRedisSender(own), own);
});

Deno.test("toRedisSender rejects anything else with a TypeError listing what it accepts", () => {
  const notClients: unknown[] = [
    null,
    undefined,
    42,
    "redis://localhost:6379",
    {},
    { sendCommand() {} },
    { call() {} },
    { isOpen: true },
  ];
  for (const value of notClients) {
    assert.throws(
      () => toRedisSender(value as RedisSender),
      (e: unknown) =>
        e instanceof TypeError &&
        /send\(args\)/.test(e.message) &&
        /node-redis/.test(e.message) &&
        /ioredis/.test(e.message) &&
        /@db\/redis/.test(e.message),
      `accepted ${Deno.inspect(value)}`,
    );
  }
});

Deno.test("a Promise passed where a client is expected says to await it", async () => {
  await using server = await startRedisServer();
  const pending = createRedisClient(server.url);
  try {
    for (
      const take of [
        (c: unknown) => createRedisStorage(c as RedisSender),
        (c: unknown) => toRedisSender(c as RedisSender),
        (c: unknown) => new SubjectsRedisStorage("user-1", c as RedisSender),
      ]
    ) {
      assert.throws(
        () => take(pending),
        (e: unknown) =>
          e instanceof TypeError &&
          /got a Promise: did you forget `await`\?/.test(e.message),
      );
    }
  } finally {
    await (await pending).close();
  }
});

Deno.test("a node-redis client that is not connected rejects with 'call connect() first', and nothing was sent", async () => {
  await using server = await startRedisServer();
  const { createClient } = await import("redis");
  const client = createClient({ url: server.url });
  const krules = new KRules({ storage: createRedisStorage(client) });
  const error = await krules.subject("user-1").set("n", 1, { useCache: false })
    .catch((e) => e);
  assert.ok(error instanceof RedisConnectionError, String(error));
  assert.match(error.message, /not open: call `connect\(\)` first/);
  assert.ok(notExecuted(error));
  // Once connected, the same storage works.
  await client.connect();
  try {
    await krules.subject("user-1").set("n", 2, { useCache: false });
    assert.equal(await client.hGet("s:user-1", "pn"), "2");
  } finally {
    await client.close();
  }
});

Deno.test("adapters reject bad arguments with TypeError before sending", async () => {
  let sent = 0;
  const nodeRedisShape = {
    isOpen: true,
    isReady: true,
    sendCommand: () => {
      sent++;
      return Promise.resolve("OK");
    },
  };
  const redis = fromNodeRedis(nodeRedisShape);
  await assert.rejects(redis.send([]), TypeError);
  await assert.rejects(redis.send(["SET", "k", NaN]), TypeError);
  await assert.rejects(
    redis.send(["SET", "k", {} as unknown as string]),
    TypeError,
  );
  assert.equal(sent, 0);
});
