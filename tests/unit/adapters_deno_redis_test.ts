import assert from "node:assert/strict";
import { createRedisStorage } from "../../mod.ts";
import { fromDenoRedis, type RedisSender } from "../../client.ts";
import { toRedisSender } from "../../src/client/adapters/mod.ts";

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

/** An `@db/redis`-shaped client that records each command and echoes it. */
class RecordingDenoRedis {
  readonly isConnected = true;
  readonly sent: string[] = [];
  sendCommand(command: string, args: unknown[] = []): Promise<unknown> {
    const line = [command, ...args].join(" ");
    this.sent.push(line);
    return Promise.resolve(line);
  }
}

Deno.test("commands given a client's port before its adapter has loaded wait for it, and go in the order sent", async () => {
  const client = new RecordingDenoRedis();
  const port = toRedisSender(client);
  const replies = Array.from(
    { length: 50 },
    (_, i) => port.send(["RPUSH", "order", i]),
  );
  // The adapter loads on first use of its kind of client: nothing has
  // reached the client yet.
  assert.deepEqual(client.sent, []);
  const expected = Array.from({ length: 50 }, (_, i) => `RPUSH order ${i}`);
  assert.deepEqual(await Promise.all(replies), expected);
  assert.deepEqual(client.sent, expected);
  // Once loaded, a command goes straight through.
  const later = port.send(["GET", "k"]);
  assert.equal(client.sent.at(-1), "GET k");
  assert.equal(await later, "GET k");
});
