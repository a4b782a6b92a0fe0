/**
 * `KRules.close()` (and `await using`) waits for the stores in flight and
 * rejects naming the subjects that still hold changes never stored;
 * `assertAllStored()` from `./testing` checks the same without closing. The
 * bookkeeping holds no subject the program dropped.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import type { StorageFactory, StoreChanges } from "../../src/storage/types.ts";
import { assertAllStored } from "../../src/subject/assert_all_stored.ts";
import { UnstoredChangesError } from "../../src/subject/errors.ts";
import { KRules } from "../../src/subject/krules.ts";
import type { Subject } from "../../src/subject/subject.ts";
import { startRedisFixture } from "../helpers/redis.ts";

function unstored(
  subjects: string[],
  dropped: string[] = [],
): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UnstoredChangesError, String(error));
    assert.deepEqual([...error.subjects].sort(), [...subjects].sort());
    assert.deepEqual([...error.dropped].sort(), [...dropped].sort());
    for (const name of subjects) {
      assert.match(error.message, new RegExp(JSON.stringify(name)));
    }
    assert.match(error.message, /store\(\)/);
    return true;
  };
}

/** Ways to leave a change unstored, each on a subject named after it. */
const LEFT_UNSTORED: [string, (s: Subject) => unknown][] = [
  ["cached-set", (s) => s.set("a", 1)],
  ["cached-set-not-awaited", (s) => void s.set("a", 1)],
  ["cached-set-many", (s) => s.setMany({ a: 1, b: 2 })],
  ["cached-set-ext", (s) => s.setExt("a", 1)],
  ["cached-delete", (s) => s.delete("stored")],
  ["cached-function-set", (s) => s.set("n", (n) => ((n as number) ?? 0) + 1)],
];

Deno.test("memory: close() rejects naming exactly the subjects holding changes never stored, and only those", async () => {
  const storage = createMemoryStorage();
  const krules = new KRules({ storage });
  for (const [name] of LEFT_UNSTORED) {
    await krules.subject(name).set("stored", true, { useCache: false });
  }
  for (const [name, change] of LEFT_UNSTORED) {
    await change(krules.subject(name));
  }
  // Subjects that end clean in every way, which must not be named.
  const stored = krules.subject("stored");
  await stored.set("a", 1);
  await stored.store();
  const direct = krules.subject("direct");
  await direct.set("a", 1);
  await direct.set("a", 2, { useCache: false }); // ends the cached change
  const flushed = krules.subject("flushed");
  await flushed.set("a", 1);
  await flushed.flush();
  const failedDelete = krules.subject("failed-delete");
  await assert.rejects(failedDelete.delete("missing"));
  const readOnly = krules.subject("read-only");
  await readOnly.dict();

  const names = LEFT_UNSTORED.map(([name]) => name);
  await assert.rejects(assertAllStored(krules), unstored(names));
  await assert.rejects(krules.close(), unstored(names));
  // Closed: no new subject, and the check still names them.
  assert.throws(() => krules.subject("late"), /closed/);
  await assert.rejects(krules.close(), unstored(names));
});

Deno.test("memory: close() resolves once every subject stored its changes, and await using closes", async () => {
  const storage = createMemoryStorage();
  {
    await using krules = new KRules({ storage });
    const subject = krules.subject("s");
    await subject.set("a", 1);
    await assert.rejects(assertAllStored(krules), unstored(["s"]));
    await subject.store();
    await assertAllStored(krules);
  }
  await using krules = new KRules({ storage });
  assert.equal(await krules.subject("s").get("a"), 1);
});

Deno.test("memory: await using rejects when a subject holds changes never stored", async () => {
  const krules = new KRules({ storage: createMemoryStorage() });
  await krules.subject("s").set("a", 1);
  await assert.rejects(krules[Symbol.asyncDispose](), unstored(["s"]));
});

/** A memory storage whose store()s wait for `release()`, then succeed or fail. */
function heldStorage(): {
  storage: StorageFactory;
  hold(outcome: "succeed" | "fail"): () => void;
} {
  const inner = createMemoryStorage();
  const holds: [Promise<void>, "succeed" | "fail"][] = [];
  const storage: StorageFactory = (name, context) => {
    const opened = inner(name, context);
    return {
      isConcurrencySafe: () => opened.isConcurrencySafe(),
      isPersistent: () => opened.isPersistent(),
      load: () => opened.load(),
      loadLazy: () => opened.loadLazy!(),
      async store(changes?: StoreChanges) {
        const held = holds.shift();
        if (held !== undefined) {
          await held[0];
          if (held[1] === "fail") throw new Error("OOM (simulated)");
        }
        await opened.store(changes);
      },
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
  return {
    storage,
    hold(outcome) {
      const { promise, resolve } = Promise.withResolvers<void>();
      holds.push([promise, outcome]);
      return resolve;
    },
  };
}

Deno.test("memory: close() waits for a store() in flight, and resolves when it succeeds", async () => {
  const { storage, hold } = heldStorage();
  const krules = new KRules({ storage });
  const subject = krules.subject("s");
  await subject.set("a", 1);
  const release = hold("succeed");
  const storing = subject.store();
  let closed = false;
  const closing = krules.close().then(() => closed = true);
  // Let everything that can run, run: close() must still be waiting.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(closed, false);
  release();
  await storing;
  await closing;
  assert.equal(closed, true);
});

Deno.test("memory: close() waits for a store() in flight that fails, and names its subject", async () => {
  const { storage, hold } = heldStorage();
  const krules = new KRules({ storage });
  const subject = krules.subject("s");
  await subject.set("a", 1);
  const release = hold("fail");
  const storing = subject.store();
  const closing = krules.close();
  release();
  await assert.rejects(storing, /OOM/);
  await assert.rejects(closing, unstored(["s"]));
  // The retry stores the merged-back change; then nothing is left.
  await subject.store();
  await krules.close();
});

Deno.test("redis: close() waits for every store() in flight: all 200 subjects are in Redis when it resolves", async () => {
  await using fixture = await startRedisFixture();
  const krules = new KRules({ storage: createRedisStorage(fixture.client) });
  const stores: Promise<void>[] = [];
  for (let i = 0; i < 200; i++) {
    const subject = krules.subject(`s${i}`);
    await subject.set("i", i);
    stores.push(subject.store()); // not awaited before close()
  }
  await krules.close();
  const reader = await fixture.connect();
  for (let i = 0; i < 200; i++) {
    assert.equal(await reader.send(["HGET", `s:s${i}`, "pi"]), String(i));
  }
  await Promise.all(stores);
});

Deno.test("redis: close() waits for store()s begun all at once, those waiting for a later turn included", async () => {
  await using fixture = await startRedisFixture();
  const krules = new KRules({ storage: createRedisStorage(fixture.client) });
  const subjects = Array.from(
    { length: 200 },
    (_, i) => krules.subject(`s${i}`),
  );
  for (const [i, subject] of subjects.entries()) await subject.set("i", i);
  // Not awaited: 64 begin in this turn, with nothing to write, and the
  // others in later turns.
  const clean = Array.from({ length: 64 }, (_, i) => krules.subject(`c${i}`));
  const stores = [...clean, ...subjects].map((subject) => subject.store());
  await krules.close();
  const reader = await fixture.connect();
  for (let i = 0; i < 200; i++) {
    assert.equal(await reader.send(["HGET", `s:s${i}`, "pi"]), String(i));
  }
  await Promise.all(stores);
});

Deno.test("redis: a store() that failed (server out of memory) leaves its subject named by close() until a retry stores it", async () => {
  await using fixture = await startRedisFixture();
  const krules = new KRules({ storage: createRedisStorage(fixture.client) });
  const subject = krules.subject("s");
  await subject.set("a", 1);
  await fixture.client.send(["CONFIG", "SET", "maxmemory", 1]);
  await assert.rejects(subject.store(), /OOM/);
  await assert.rejects(assertAllStored(krules), unstored(["s"]));
  await fixture.client.send(["CONFIG", "SET", "maxmemory", 0]);
  await subject.store();
  await krules.close();
  assert.equal(await fixture.client.send(["HGET", "s:s", "pa"]), "1");
});

Deno.test("close() keeps no dropped subject alive: 20,000 subjects dropped with unstored changes are collected, counted and named as lost", async () => {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      new URL("../helpers/dropped_subjects.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const result = JSON.parse(text.trim().split("\n").at(-1)!);
  assert.equal(result.droppedCount, result.subjects, text);
  assert.equal(result.namesListed, 1000, text);
  assert.deepEqual(result.live, ["kept"], text);
  assert.ok(
    result.growthBytes < 16 * 1024 * 1024,
    `heap grew by ${(result.growthBytes / 1024 / 1024).toFixed(1)} MB`,
  );
});
