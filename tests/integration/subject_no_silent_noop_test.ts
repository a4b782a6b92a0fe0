/**
 * No silent no-op: `expire()` on a subject whose changes are not stored yet
 * rejects and says to store first (it used to resolve `false`, and the key
 * then had no expiry), and `KRules` without a storage refuses to start
 * instead of keeping nothing.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createEmptyStorage } from "../../src/storage/empty_storage.ts";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import type { StorageFactory } from "../../src/storage/types.ts";
import { UnstoredChangesError } from "../../src/subject/errors.ts";
import { KRules, type KRulesOptions } from "../../src/subject/krules.ts";
import type { Subject } from "../../src/subject/subject.ts";
import { startRedisFixture } from "../helpers/redis.ts";

const BACKENDS: Record<
  string,
  () => Promise<{ storage: StorageFactory } & AsyncDisposable>
> = {
  memory: () =>
    Promise.resolve({
      storage: createMemoryStorage(),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    }),
  redis: async () => {
    const fixture = await startRedisFixture();
    return {
      storage: createRedisStorage(fixture.client),
      [Symbol.asyncDispose]: () => fixture[Symbol.asyncDispose](),
    };
  },
};

const UNSTORED: [string, (s: Subject) => unknown][] = [
  ["a cached set()", (s) => s.set("a", 2)],
  ["a cached set() not awaited", (s) => void s.set("a", 2)],
  ["a cached delete()", (s) => s.delete("a")],
  ["a cached setExt()", (s) => s.setExt("x", 1)],
];

for (const [label, open] of Object.entries(BACKENDS)) {
  for (const [what, change] of UNSTORED) {
    Deno.test(`${label}: expire() after ${what} not stored yet rejects saying to store first, and changes nothing`, async () => {
      await using backend = await open();
      const krules = new KRules({ storage: backend.storage });
      const stored = krules.subject("s");
      await stored.setMany({ a: 1, b: 1 });
      await stored.store();

      const subject = krules.subject("s");
      await change(subject);
      await assert.rejects(subject.expire(60_000), (error) => {
        assert.ok(error instanceof UnstoredChangesError, String(error));
        assert.deepEqual(error.subjects, ["s"]);
        assert.match(error.message, /"s"/);
        assert.match(error.message, /store\(\)/);
        return true;
      });
      assert.equal(await subject.ttl(), null);
      await subject.store();
      // Stored: now it takes effect.
      assert.equal(await subject.expire(60_000), true);
      const ttl = await subject.ttl();
      assert.ok(ttl !== null && ttl > 0 && ttl <= 60_000, String(ttl));
    });
  }

  Deno.test(`${label}: expire() of a subject with nothing stored and nothing pending still resolves false`, async () => {
    await using backend = await open();
    const subject = new KRules({ storage: backend.storage }).subject("none");
    assert.equal(await subject.expire(60_000), false);
  });
}

Deno.test("KRules without a storage throws a TypeError naming the storages to choose from", () => {
  for (
    const options of [undefined, {}, { storage: undefined }] as (
      | KRulesOptions
      | undefined
    )[]
  ) {
    assert.throws(
      () => new KRules(options as KRulesOptions),
      (error) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /createRedisStorage/);
        assert.match(error.message, /createMemoryStorage/);
        return true;
      },
    );
  }
  assert.throws(
    () => new KRules({ storage: "redis://x" as unknown as StorageFactory }),
    TypeError,
  );
});

Deno.test("KRules with the empty storage chosen explicitly keeps nothing, as it says", async () => {
  const krules = new KRules({ storage: createEmptyStorage() });
  const subject = krules.subject("s");
  await subject.set("a", 1);
  await subject.store();
  assert.equal(await subject.get("a", { default: "gone" }), "gone");
});
