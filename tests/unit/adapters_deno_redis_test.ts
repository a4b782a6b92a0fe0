import assert from "node:assert/strict";
import { createRedisStorage } from "../../mod.ts";
import type { RedisSender } from "../../client.ts";
import { fromDenoRedis, toRedisSender } from "../../src/client/adapters/mod.ts";

/**
 * The shape of `@db/redis`'s experimental cluster client: a `RedisImpl` over a
 * `ClusterExecutor`, which has no single connection, so `isConnected` throws.
 */
class ClusterExecutor {
  get connection(): never {
    throw new Error("Not implemented yet");
  }
  sendCommand(): Promise<unknown> {
    return Promise.resolve("OK");
  }
}

class RedisImpl {
  constructor(readonly executor: { readonly connection: unknown }) {}
  get isConnected(): boolean {
    return (this.executor.connection as { isConnected: boolean }).isConnected;
  }
  sendCommand(): Promise<unknown> {
    return Promise.resolve("OK");
  }
}

Deno.test("@db/redis's cluster client is refused with a TypeError pointing to createRedisClusterClient", () => {
  const cluster = new RedisImpl(new ClusterExecutor());
  for (
    const attempt of [
      () => toRedisSender(cluster),
      () => fromDenoRedis(cluster),
      () => createRedisStorage(cluster as unknown as RedisSender),
    ]
  ) {
    assert.throws(attempt, TypeError, "createRedisClusterClient");
  }
});

Deno.test("a cluster executor recognised by its class name alone is refused too", () => {
  // A later @db/redis may give the cluster executor a connection.
  class ClusterExecutor {
    readonly connection = { isConnected: true };
  }
  const cluster = new RedisImpl(new ClusterExecutor());
  assert.throws(() => toRedisSender(cluster), TypeError, "EVALSHA");
});

Deno.test("a single @db/redis client is still adapted", async () => {
  const single = new RedisImpl({ connection: { isConnected: true } });
  const port = toRedisSender(single);
  assert.equal(await port.send(["PING"]), "OK");
});
