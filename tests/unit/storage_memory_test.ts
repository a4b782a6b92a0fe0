import assert from "node:assert/strict";
import { createEmptyStorage } from "../../src/storage/empty_storage.ts";
import { InvalidValueError } from "../../src/json/errors.ts";
import { PropertyNotFoundError } from "../../src/storage/errors.ts";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import { SubjectProperty } from "../../src/storage/property.ts";
import { registerContracts } from "../contracts/contracts.ts";

registerContracts("memory", () => {
  const storage = createMemoryStorage();
  return Promise.resolve({
    storage,
    persistent: false,
    reopen: () => Promise.resolve(storage),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  });
});

Deno.test("memory: separate factories share nothing", async () => {
  const first = createMemoryStorage();
  const second = createMemoryStorage();
  await first("s").set(new SubjectProperty("a", 1));
  assert.deepEqual(await second("s").load(), [{}, {}]);
});

Deno.test("memory: concurrent function sets within the process lose nothing", async () => {
  const storage = createMemoryStorage()("counter");
  const results = await Promise.all(
    Array.from(
      { length: 500 },
      () => storage.set(new SubjectProperty("n", (n: number) => n + 1), 0),
    ),
  );
  assert.equal(await storage.get(new SubjectProperty("n")), 500);
  assert.deepEqual(
    results.map(([value]) => value).sort((a, b) => Number(a) - Number(b)),
    Array.from({ length: 500 }, (_, i) => i + 1),
  );
});

Deno.test("empty storage: is neither persistent nor concurrency-safe, and keeps nothing", async () => {
  const factory = createEmptyStorage();
  const storage = factory("s", { eventInfo: { ignored: true } });
  assert.equal(storage.isPersistent(), false);
  assert.equal(storage.isConcurrencySafe(), false);
  await storage.store({ inserts: [new SubjectProperty("a", 1)] });
  assert.deepEqual(await storage.load(), [{}, {}]);
  assert.deepEqual(await storage.getExtProps(), {});
  await assert.rejects(
    storage.get(new SubjectProperty("a")),
    PropertyNotFoundError,
  );
  await storage.delete(new SubjectProperty("a"));
  assert.equal(await storage.flush(), storage);
});

Deno.test("empty storage: set reports the default as old value and computes functions from it", async () => {
  const storage = createEmptyStorage()("s");
  assert.deepEqual(await storage.set(new SubjectProperty("a", 1), 0), [1, 0]);
  assert.deepEqual(
    await storage.set(new SubjectProperty("a", (n: number) => n + 1), 41),
    [42, 41],
  );
});

Deno.test("empty storage: still rejects bad input like the real storages", async () => {
  const factory = createEmptyStorage();
  assert.throws(() => factory(""), TypeError);
  const storage = factory("s");
  await assert.rejects(
    storage.set(new SubjectProperty("a", Number.NaN)),
    InvalidValueError,
  );
  await assert.rejects(
    storage.store({ inserts: [new SubjectProperty("a", new Map())] }),
    InvalidValueError,
  );
});
