import assert from "node:assert/strict";
import { RedisConnectionError } from "../../mod.ts";
import { fromIoredis } from "../../client.ts";
import { toRedisSender } from "../../src/client/adapters/mod.ts";
import { startRedisCluster, startRedisServer } from "../../testing.ts";
import { defineAdapterTests } from "../contracts/adapter_contract.ts";
import { registerContractsOver } from "../contracts/contracts.ts";
import {
  IOREDIS,
  IOREDIS_5,
  IOREDIS_RESP3_MAPPING,
  loadIoredis,
} from "../helpers/clients.ts";

// ioredis's debug dependency enumerates the environment when imported, so
// this file runs in its own `deno test` with --allow-env (see tests/run.ts).
for (const kind of [IOREDIS, IOREDIS_5]) defineAdapterTests(kind);

// Under replyMapping "resp3" ioredis reorders a map's integer-like keys
// before the adapter sees them, so that kind keeps only the contracts, which
// do not depend on the order of a hash's fields.
for (const kind of [IOREDIS, IOREDIS_5, IOREDIS_RESP3_MAPPING]) {
  registerContractsOver(kind, async () => {
    const server = await startRedisServer();
    return { urls: [server.url], [Symbol.asyncDispose]: () => server.stop() };
  });
}

Deno.test("a closed ioredis client rejects with RedisConnectionError", async () => {
  await using server = await startRedisServer();
  const { Redis } = await loadIoredis();
  const client = new Redis(server.url, { lazyConnect: true });
  await client.connect();
  const redis = fromIoredis(client);
  assert.equal(await redis.send(["PING"]), "PONG");
  await client.quit();
  const error = await redis.send(["PING"]).catch((e) => e);
  assert.ok(error instanceof RedisConnectionError, String(error));
});

Deno.test("ioredis: HGETALL stays a flat array, not ioredis's object", async () => {
  await using server = await startRedisServer();
  const { Redis } = await loadIoredis();
  const client = new Redis(server.url, { lazyConnect: true });
  await client.connect();
  try {
    const redis = fromIoredis(client);
    await redis.send(["HSET", "h", "2", "two", "1", "one"]);
    // An object would reorder the integer-like fields.
    assert.deepEqual(await redis.send(["HGETALL", "h"]), [
      "2",
      "two",
      "1",
      "one",
    ]);
    assert.deepEqual(await redis.send(["hgetall", "h"]), [
      "2",
      "two",
      "1",
      "one",
    ]);
  } finally {
    await client.quit();
  }
});

Deno.test("ioredis Cluster is recognised and routes through call()", async () => {
  await using cluster = await startRedisCluster({ masters: 3 });
  const { Cluster } = await loadIoredis();
  const client = new Cluster(
    cluster.urls.map((url) => {
      const { hostname, port } = new URL(url);
      return { host: hostname, port: Number(port) };
    }),
    { lazyConnect: true },
  );
  await client.connect();
  try {
    const redis = toRedisSender(client);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => redis.send(["SET", `k${i}`, i])),
    );
    assert.equal(await redis.send(["GET", "k42"]), "42");
  } finally {
    await client.quit();
  }
});
