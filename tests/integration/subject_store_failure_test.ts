/**
 * A failed write that ran (or may have) is never sent again by the module:
 * an acknowledged write of another client made after it stays stored. A
 * failed write that certainly did not run is merged back and written by the
 * next `store()`. Against a real redis-server, each way a write can fail.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisClient } from "../../src/client/client.ts";
import type { RedisError } from "../../src/client/errors.ts";
import { ReplicationError } from "../../src/client/replication.ts";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import type {
  StorageFactory,
  StoreChanges,
  SubjectStorage,
} from "../../src/storage/types.ts";
import { KRules } from "../../src/subject/krules.ts";
import { redisFailure, startRedisFixture } from "../helpers/redis.ts";

const KEY = "s:s";

Deno.test("a store() that failed with ReplicationError (applied on the master) is never re-sent over another client's later write", async () => {
  await using fixture = await startRedisFixture();
  const other = await fixture.connect();
  // No replica: every write is applied, then WAIT confirms none of them.
  const storage = createRedisStorage(fixture.client, {
    waitReplicas: 1,
    waitTimeoutMs: 20,
  });
  const subject = new KRules({ storage }).subject("s");
  await subject.set("count", 10);
  const error = await redisFailure(subject.store());
  assert.ok(error instanceof ReplicationError);
  assert.equal(error.executed, "yes");
  assert.equal(await other.send(["HGET", KEY, "pcount"]), "10");
  // Another service's acknowledged +5.
  assert.equal(await other.send(["HINCRBY", KEY, "pcount", 5]), 15);
  await subject.set("unrelated", 1);
  // This one is not confirmed by a replica either, but it ran.
  assert.equal((await redisFailure(subject.store())).executed, "yes");
  assert.equal(await other.send(["HGET", KEY, "pcount"]), "15");
  assert.equal(await other.send(["HGET", KEY, "punrelated"]), "1");
  // The cache does not hold the value the failed store() wrote: it reloads.
  assert.equal(await subject.get("count"), 15);
});

Deno.test("a store() that timed out after its command was written is never re-sent, even though the server ran it late", async () => {
  await using fixture = await startRedisFixture();
  const other = await fixture.connect();
  const client = await createRedisClient(fixture.server.url, {
    commandTimeoutMs: 500,
  });
  try {
    const subject = new KRules({ storage: createRedisStorage(client) })
      .subject("s");
    await subject.set("count", 10);
    await subject.get("count");
    fixture.server.pause();
    let error: RedisError;
    try {
      error = await redisFailure(subject.store());
    } finally {
      fixture.server.resume();
    }
    assert.equal(error.executed, "maybe");
    // The server reads the command it was sent before it froze, and runs it.
    const deadline = Date.now() + 10_000;
    while (await other.send(["HGET", KEY, "pcount"]) !== "10") {
      assert.ok(Date.now() < deadline, "the timed-out HSET never ran");
    }
    assert.equal(await other.send(["HINCRBY", KEY, "pcount", 5]), 15);
    await subject.set("unrelated", 1);
    await subject.store();
    assert.equal(await other.send(["HGET", KEY, "pcount"]), "15");
    assert.equal(await subject.get("count"), 15);
  } finally {
    await client.close();
  }
});

Deno.test("a store() refused with an error reply (OOM, NOPERM) did not run: it is merged back and written by the next store()", async () => {
  await using fixture = await startRedisFixture();
  const other = await fixture.connect();
  await other.send(["ACL", "SETUSER", "worker", "on", ">pw", "~*", "+@all"]);
  const url = fixture.server.url.replace("redis://", "redis://worker:pw@");
  const client = await createRedisClient(url);
  try {
    const subject = new KRules({ storage: createRedisStorage(client) })
      .subject("s");
    await subject.set("a", 1);
    await other.send(["CONFIG", "SET", "maxmemory", 1]);
    const oom = await redisFailure(subject.store());
    assert.equal(oom.executed, "no");
    await other.send(["CONFIG", "SET", "maxmemory", 0]);
    await subject.set("b", 2);
    await other.send(["ACL", "SETUSER", "worker", "-hset", "-evalsha"]);
    const refused = await redisFailure(subject.store());
    assert.equal(refused.executed, "no");
    assert.match(refused.message, /NOPERM/);
    await other.send(["ACL", "SETUSER", "worker", "+@all"]);
    await subject.store();
    assert.deepEqual(await other.send(["HGETALL", KEY]), [
      "pa",
      "1",
      "pb",
      "2",
    ]);
  } finally {
    await client.close();
  }
});

Deno.test("a direct set that failed after it ran leaves no stale value in the cache: the next read loads what is stored", async () => {
  await using fixture = await startRedisFixture();
  const other = await fixture.connect();
  const storage = createRedisStorage(fixture.client, {
    waitReplicas: 1,
    waitTimeoutMs: 20,
  });
  await other.send(["HSET", KEY, "pcount", "1"]);
  const subject = new KRules({ storage }).subject("s");
  assert.equal(await subject.get("count"), 1);
  const error = await redisFailure(
    subject.set("count", 10, { useCache: false }),
  );
  assert.equal(error.executed, "yes");
  assert.equal(await other.send(["HINCRBY", KEY, "pcount", 5]), 15);
  assert.equal(await subject.get("count"), 15);
});

Deno.test("a direct delete that failed after it ran leaves no stale value in the cache", async () => {
  await using fixture = await startRedisFixture();
  const other = await fixture.connect();
  const storage = createRedisStorage(fixture.client, {
    waitReplicas: 1,
    waitTimeoutMs: 20,
  });
  await other.send(["HSET", KEY, "pgone", "1", "pkeep", "2"]);
  const subject = new KRules({ storage }).subject("s");
  assert.equal(await subject.get("gone"), 1);
  const error = await redisFailure(subject.delete("gone", { useCache: false }));
  assert.equal(error.executed, "yes");
  assert.equal(await subject.has("gone"), false);
});

/**
 * A memory storage whose store()s follow a script: each step gets the
 * changes and a way to apply them, and decides when and how it fails.
 */
function scriptedStores(
  steps: ((
    changes: StoreChanges | undefined,
    apply: () => Promise<void>,
  ) => Promise<void>)[],
): StorageFactory {
  const inner = createMemoryStorage();
  return (name, context) => {
    const opened = inner(name, context);
    const storage: SubjectStorage = {
      isConcurrencySafe: () => opened.isConcurrencySafe(),
      isPersistent: () => opened.isPersistent(),
      load: () => opened.load(),
      loadLazy: () => opened.loadLazy!(),
      store: (changes) => {
        const step = steps.shift();
        const apply = () => opened.store(changes);
        return step === undefined ? apply() : step(changes, apply);
      },
      set: (prop, old) => opened.set(prop, old),
      get: (prop) => opened.get(prop),
      delete: (prop) => opened.delete(prop),
      getExtProps: () => opened.getExtProps(),
      flush: async () => {
        await opened.flush();
        return storage;
      },
    };
    return storage;
  };
}

Deno.test("memory: an older store() that did not run does not bring back what a newer one that ran (then failed) wrote, and changes made meanwhile survive", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const storage = scriptedStores([
    // The older store: held, then refused without running.
    async () => {
      await held;
      throw new Error("OOM (simulated)");
    },
    // The newer one: applied, then not confirmed by replicas.
    async (_changes, apply) => {
      await apply();
      throw new ReplicationError("EVALSHA", 1, 0, 10);
    },
  ]);
  const krules = new KRules({ storage });
  const subject = krules.subject("s");
  await subject.set("x", 1);
  await subject.set("older-only", 1);
  const older = subject.store();
  await subject.set("x", 2);
  const newer = await redisFailure(subject.store());
  assert.equal(newer.executed, "yes");
  // Made after the newer store failed: a fresh cache, loaded again.
  await subject.set("later", 3);
  release();
  await assert.rejects(older, /OOM/);
  await subject.store();
  assert.deepEqual(await krules.subject("s").dict(), {
    name: "s",
    x: 2,
    "older-only": 1,
    later: 3,
    ext: {},
  });
});

Deno.test("memory: a cached change made while a store() that then fails after running was in flight is kept, over what storage holds", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const storage = scriptedStores([
    async (_changes, apply) => {
      await held;
      await apply();
      throw new ReplicationError("HSET", 1, 0, 10);
    },
  ]);
  const krules = new KRules({ storage });
  const subject = krules.subject("s");
  await subject.set("a", 0, { useCache: false });
  await subject.set("a", 1);
  const storing = subject.store();
  await subject.set("b", 2);
  await subject.delete("a");
  release();
  assert.equal((await redisFailure(storing)).executed, "yes");
  // Storage holds a = 1 now, but this subject's later delete still applies.
  assert.equal(await subject.has("a"), false);
  assert.equal(await subject.get("b"), 2);
  await subject.store();
  assert.deepEqual(await krules.subject("s").dict(), {
    name: "s",
    b: 2,
    ext: {},
  });
});

Deno.test("with waitReplicas, a store() whose condition failed wrote nothing: it is computed again, not reported as applied", async () => {
  await using fixture = await startRedisFixture();
  const other = await fixture.connect();
  const storage = createRedisStorage(fixture.client, {
    waitReplicas: 1,
    waitTimeoutMs: 20,
  });
  await other.send(["HSET", KEY, "pn", "1"]);
  const subject = new KRules({ storage }).subject("s");
  await subject.set("n", (n) => (n as number) + 1);
  await other.send(["HSET", KEY, "pn", "10"]);
  // Every write is unconfirmed (no replica), but the one that ran is 10 + 1.
  assert.equal((await redisFailure(subject.store())).executed, "yes");
  assert.equal(await other.send(["HGET", KEY, "pn"]), "11");
});
