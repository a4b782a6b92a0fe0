/**
 * No write is silently lost: a change made through a Subject is stored by a
 * later `store()`, or its caller gets an error. One test per way a write
 * used to vanish, over the memory storage and over a real Redis.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CorruptValueError } from "../../src/json/errors.ts";
import { RedisReplyError } from "../../src/client/errors.ts";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import { SubjectProperty } from "../../src/storage/property.ts";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import type { StorageFactory, StoreChanges } from "../../src/storage/types.ts";
import type { SubjectEvent } from "../../src/subject/event_bus.ts";
import { KRules } from "../../src/subject/krules.ts";
import { startRedisFixture } from "../helpers/redis.ts";

/** A storage under test, and a way to make its writes fail for a while. */
interface Backend extends AsyncDisposable {
  readonly storage: StorageFactory;
  /** Makes every write fail (true) or work again (false). */
  failWrites(on: boolean): Promise<void>;
}

/**
 * The memory storage with its store() replaced, everything else forwarded:
 * how the tests make a store fail like a server out of memory.
 */
function memoryWithStore(
  store: (
    changes: StoreChanges | undefined,
    forward: (changes?: StoreChanges) => Promise<void>,
  ) => Promise<void>,
): StorageFactory {
  const inner = createMemoryStorage();
  return (name, context) => {
    const opened = inner(name, context);
    return {
      isConcurrencySafe: () => opened.isConcurrencySafe(),
      isPersistent: () => opened.isPersistent(),
      load: () => opened.load(),
      loadLazy: () => opened.loadLazy!(),
      store: (changes) => store(changes, (c) => opened.store(c)),
      set: (prop, old) => opened.set(prop, old),
      get: (prop) => opened.get(prop),
      delete: (prop) => opened.delete(prop),
      getExtProps: () => opened.getExtProps(),
      async flush() {
        await opened.flush();
        return this;
      },
    };
  };
}

function memory(): Promise<Backend> {
  let failing = false;
  return Promise.resolve({
    storage: memoryWithStore((changes, forward) =>
      failing ? Promise.reject(new Error("OOM (simulated)")) : forward(changes)
    ),
    failWrites: (on) => {
      failing = on;
      return Promise.resolve();
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  });
}

async function redis(): Promise<Backend> {
  const fixture = await startRedisFixture();
  return {
    storage: createRedisStorage(fixture.client),
    // A real server out of memory: every write gets an OOM error reply.
    failWrites: async (on) => {
      await fixture.client.send(["CONFIG", "SET", "maxmemory", on ? 1 : 0]);
    },
    [Symbol.asyncDispose]: () => fixture[Symbol.asyncDispose](),
  };
}

const BACKENDS = { memory, redis };

function eachBackend(
  name: string,
  fn: (backend: Backend) => Promise<void>,
): void {
  for (const [label, open] of Object.entries(BACKENDS)) {
    Deno.test(`${label}: ${name}`, async () => {
      await using backend = await open();
      await fn(backend);
    });
  }
}

eachBackend(
  "a direct read of a property keeps its pending cached change",
  async (b) => {
    const krules = new KRules({ storage: b.storage });
    const subject = krules.subject("s");
    await subject.set("pending", "v");
    // Storage has nothing yet, so the direct read gives the default…
    assert.equal(
      await subject.get("pending", { default: 0, useCache: false }),
      0,
    );
    // …but the change it has not seen is still pending, and store() writes it.
    assert.equal(await subject.get("pending"), "v");
    await subject.store();
    assert.equal(await krules.subject("s").get("pending"), "v");
  },
);

eachBackend(
  "a direct read of a property keeps its pending cached delete",
  async (b) => {
    const krules = new KRules({ storage: b.storage });
    await krules.subject("s").set("gone", 1, { useCache: false });
    const subject = krules.subject("s");
    await subject.delete("gone");
    assert.equal(await subject.get("gone", { useCache: false }), 1);
    assert.equal(await subject.has("gone"), false);
    await subject.store();
    assert.equal(await krules.subject("s").has("gone"), false);
  },
);

eachBackend(
  "store() includes sets and deletes that were not awaited",
  async (b) => {
    const krules = new KRules({ storage: b.storage });
    await krules.subject("s").set("old", true, { useCache: false });
    const subject = krules.subject("s");
    // The forgotten awaits: each call is still waiting for the first load.
    const pending = [
      subject.set("a", 1),
      subject.set("b", 2),
      subject.delete("old"),
    ];
    await subject.store();
    assert.deepEqual(await krules.subject("s").dict(), {
      name: "s",
      a: 1,
      b: 2,
      ext: {},
    });
    await Promise.all(pending);
  },
);

eachBackend(
  "a failed store() keeps its changes when the subject is used meanwhile, and the retry writes them",
  async (b) => {
    const krules = new KRules({ storage: b.storage });
    const subject = krules.subject("s");
    await subject.set("a", 1);
    await subject.set("kept", "old");
    await b.failWrites(true);
    const storing = subject.store();
    // Used in the same tick as the failing store: each loads a fresh cache.
    const using = [
      subject.get("a", { default: null }),
      subject.has("b"),
      subject.set("kept", "new"),
    ];
    await assert.rejects(storing, (error) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /OOM/);
      return true;
    });
    await Promise.all(using);
    await b.failWrites(false);
    await subject.store();
    // The failed batch came back under the newer change, and both were written.
    assert.deepEqual(await krules.subject("s").dict(), {
      name: "s",
      a: 1,
      kept: "new",
      ext: {},
    });
  },
);

eachBackend(
  "a direct write during a failing store() ends that property's pending change",
  async (b) => {
    const krules = new KRules({ storage: b.storage });
    const subject = krules.subject("s");
    await subject.set("n", 1);
    await subject.set("other", 1);
    await b.failWrites(true);
    const storing = subject.store();
    await assert.rejects(storing);
    await b.failWrites(false);
    // Not failing now: the direct write lands, and the retry must not undo it.
    await subject.set("n", 2, { useCache: false });
    await subject.store();
    assert.deepEqual(await krules.subject("s").dict(), {
      name: "s",
      n: 2,
      other: 1,
      ext: {},
    });
  },
);

eachBackend(
  "event payloads always carry old_value, null when the property was absent",
  async (b) => {
    const krules = new KRules({ storage: b.storage });
    const events: SubjectEvent[] = [];
    krules.eventBus.on("*", (event) => {
      events.push(event);
    });
    const subject = krules.subject("s");
    await subject.set("fresh", 1);
    await subject.set("fresh", 2);
    const [first, second] = events.map((event) =>
      JSON.stringify(event.payload)
    );
    assert.equal(first, '{"property_name":"fresh","old_value":null,"value":1}');
    assert.equal(second, '{"property_name":"fresh","old_value":1,"value":2}');
    // The call itself still reports an absent old value as undefined.
    assert.deepEqual(await subject.set("other", 3), [3, undefined]);
  },
);

// "caf\xe9" as JSON text: Latin-1 bytes another tool wrote, not UTF-8.
const LATIN1 = new Uint8Array([0x22, 0x63, 0x61, 0x66, 0xe9, 0x22]);

function isCorrupt(property: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof CorruptValueError, String(error));
    assert.equal(error.property, property);
    assert.match(error.message, new RegExp(`"${property}"`));
    return true;
  };
}

Deno.test("redis: bytes that are not UTF-8 raise CorruptValueError on every read path, and nothing rewrites them", async () => {
  await using fixture = await startRedisFixture();
  const client = fixture.client;
  await client.send(["HSET", "s:s", "pcafe", LATIN1, "ecafe", LATIN1]);
  await client.send(["HSET", "s:s", "pgood", '"ok"']);
  const storage = createRedisStorage(client);
  const krules = new KRules({ storage });
  const direct = storage("s");
  await assert.rejects(
    direct.get(new SubjectProperty("cafe")),
    isCorrupt("cafe"),
  );
  await assert.rejects(direct.load(), isCorrupt("cafe"));
  await assert.rejects(direct.getExtProps(), isCorrupt("cafe"));
  const subject = krules.subject("s");
  assert.equal(await subject.get("good"), "ok");
  await assert.rejects(subject.get("cafe"), isCorrupt("cafe"));
  await assert.rejects(subject.getExt("cafe"), isCorrupt("cafe"));
  await assert.rejects(
    subject.get("cafe", { useCache: false }),
    isCorrupt("cafe"),
  );
  // A cached read-modify-write cannot store the replacement character.
  await assert.rejects(
    subject.set("cafe", (old) => `${old}!`),
    isCorrupt("cafe"),
  );
  await subject.store();
  assert.equal(await client.send(["HSTRLEN", "s:s", "pcafe"]), 6);
  // A plain direct set needs no old value: it replaces the bytes (repairing
  // the field) and reports the old value as absent, as over corrupt JSON.
  assert.deepEqual(
    await direct.set(new SubjectProperty("cafe", "café"), "absent"),
    ["café", "absent"],
  );
  assert.equal(await direct.get(new SubjectProperty("cafe")), "café");
  // So does setMany, whose absent old values are undefined.
  await client.send(["HSET", "s:s", "pcafe", LATIN1]);
  assert.deepEqual(
    await direct.setMany!([
      new SubjectProperty("cafe", "café"),
      new SubjectProperty("good", "still ok"),
    ]),
    [undefined, "ok"],
  );
  assert.equal(await direct.get(new SubjectProperty("cafe")), "café");
});

Deno.test("redis: a stored U+FFFD is a real character, not a decoding error", async () => {
  await using fixture = await startRedisFixture();
  const storage = createRedisStorage(fixture.client);
  const krules = new KRules({ storage });
  await krules.subject("s").set("r", "a\uFFFDb", { useCache: false });
  await krules.subject("s").setExt("r", ["\uFFFD"], { useCache: false });
  assert.equal(await krules.subject("s").get("r"), "a\uFFFDb");
  assert.equal(
    await krules.subject("s").get("r", { useCache: false }),
    "a\uFFFDb",
  );
  assert.deepEqual(await krules.subject("s").getExtProps(), { r: ["\uFFFD"] });
  assert.deepEqual(await storage("s").load(), [{ r: "a\uFFFDb" }, {
    r: ["\uFFFD"],
  }]);
  assert.deepEqual(
    await storage("s").set(new SubjectProperty("r", 1)),
    [1, "a\uFFFDb"],
  );
});

// Keeps the import honest: the OOM the Redis backend meets is a reply error.
Deno.test("redis: an out-of-memory server rejects a store with RedisReplyError", async () => {
  await using backend = await redis();
  const subject = new KRules({ storage: backend.storage }).subject("s");
  await subject.set("a", 1);
  await backend.failWrites(true);
  await assert.rejects(subject.store(), RedisReplyError);
});

/**
 * A memory storage whose stores can be made to wait for a release and then
 * fail, to order a failing store() against other calls without sleeping.
 */
function heldStorage(): {
  storage: StorageFactory;
  /** Makes the next store() wait until the returned function is called, then fail. */
  holdNextStore(): () => void;
} {
  const holds: Promise<void>[] = [];
  const storage = memoryWithStore(async (changes, forward) => {
    const hold = holds.shift();
    if (hold === undefined) return await forward(changes);
    await hold;
    throw new Error("OOM (simulated)");
  });
  return {
    storage,
    holdNextStore() {
      let release!: () => void;
      holds.push(new Promise<void>((resolve) => (release = resolve)));
      return release;
    },
  };
}

Deno.test("memory: a direct write while a store() is in flight survives that store's failure and retry", async () => {
  const { storage, holdNextStore } = heldStorage();
  const krules = new KRules({ storage });
  const subject = krules.subject("s");
  await subject.set("n", 1);
  await subject.set("other", 1);
  const release = holdNextStore();
  const storing = subject.store();
  // In flight: the direct write lands now and ends n's change in the batch.
  await subject.set("n", 2, { useCache: false });
  release();
  await assert.rejects(storing, /OOM/);
  await subject.store();
  assert.deepEqual(await krules.subject("s").dict(), {
    name: "s",
    n: 2,
    other: 1,
    ext: {},
  });
});

Deno.test("memory: an older store() that fails after a newer one succeeded does not undo the newer write", async () => {
  const { storage, holdNextStore } = heldStorage();
  const krules = new KRules({ storage });
  const subject = krules.subject("s");
  await subject.set("x", 1);
  await subject.set("older-only", 1);
  const release = holdNextStore();
  const older = subject.store();
  await subject.set("x", 2); // a fresh cache: the older batch is in flight
  await subject.store(); // the newer batch succeeds
  release();
  await assert.rejects(older, /OOM/);
  // The retry writes what only the older batch had, and not its stale x.
  await subject.store();
  assert.deepEqual(await krules.subject("s").dict(), {
    name: "s",
    x: 2,
    "older-only": 1,
    ext: {},
  });
  assert.equal(await subject.get("x"), 2);
});

Deno.test("memory: two failing store()s, the older failing last: the retry writes the newer values", async () => {
  const { storage, holdNextStore } = heldStorage();
  const krules = new KRules({ storage });
  const subject = krules.subject("s");
  await subject.set("x", 1);
  await subject.set("a", 1);
  const releaseOlder = holdNextStore();
  const older = subject.store();
  await subject.set("x", 2);
  await subject.set("b", 2);
  const releaseNewer = holdNextStore();
  const newer = subject.store();
  releaseNewer();
  await assert.rejects(newer, /OOM/);
  releaseOlder();
  await assert.rejects(older, /OOM/);
  await subject.store();
  assert.deepEqual(await krules.subject("s").dict(), {
    name: "s",
    x: 2,
    a: 1,
    b: 2,
    ext: {},
  });
});
