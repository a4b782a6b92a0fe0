/**
 * A storage decorator that forwards the `SubjectStorage` methods, and
 * nothing else, behaves exactly like the storage it wraps: the Subject finds
 * every path it uses on the interface, the lazy load included.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CorruptValueError } from "../../src/json/errors.ts";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import type { Property } from "../../src/storage/property.ts";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import type {
  StorageFactory,
  StoreChanges,
  SubjectStorage,
} from "../../src/storage/types.ts";
import { KRules } from "../../src/subject/krules.ts";
import { startRedisFixture } from "../helpers/redis.ts";

/** The kind of wrapper users write for metrics: counts calls, forwards them. */
class CountingStorage implements SubjectStorage {
  readonly calls: string[] = [];
  // The optional methods, forwarded when the wrapped storage has them.
  readonly loadLazy?: SubjectStorage["loadLazy"];
  readonly setMany?: SubjectStorage["setMany"];
  readonly expire?: SubjectStorage["expire"];
  readonly ttl?: SubjectStorage["ttl"];
  readonly #inner: SubjectStorage;

  constructor(inner: SubjectStorage) {
    this.#inner = inner;
    const { loadLazy, setMany, expire, ttl } = inner;
    if (loadLazy !== undefined) {
      this.loadLazy = () => {
        this.calls.push("loadLazy");
        return loadLazy.call(inner);
      };
    }
    if (setMany !== undefined) {
      this.setMany = (props) => {
        this.calls.push("setMany");
        return setMany.call(inner, props);
      };
    }
    if (expire !== undefined) {
      this.expire = (ms) => {
        this.calls.push("expire");
        return expire.call(inner, ms);
      };
    }
    if (ttl !== undefined) {
      this.ttl = () => {
        this.calls.push("ttl");
        return ttl.call(inner);
      };
    }
  }

  isConcurrencySafe(): boolean {
    return this.#inner.isConcurrencySafe();
  }
  isPersistent(): boolean {
    return this.#inner.isPersistent();
  }
  load(): Promise<[Record<string, unknown>, Record<string, unknown>]> {
    this.calls.push("load");
    return this.#inner.load();
  }
  store(changes?: StoreChanges): Promise<void> {
    this.calls.push("store");
    return this.#inner.store(changes);
  }
  set(prop: Property, oldValueDefault?: unknown): Promise<[unknown, unknown]> {
    this.calls.push("set");
    return this.#inner.set(prop, oldValueDefault);
  }
  get(prop: Property): Promise<unknown> {
    this.calls.push("get");
    return this.#inner.get(prop);
  }
  delete(prop: Property): Promise<void> {
    this.calls.push("delete");
    return this.#inner.delete(prop);
  }
  getExtProps(): Promise<Record<string, unknown>> {
    this.calls.push("getExtProps");
    return this.#inner.getExtProps();
  }
  async flush(): Promise<this> {
    this.calls.push("flush");
    await this.#inner.flush();
    return this;
  }
}

function decorated(
  factory: StorageFactory,
  opened: CountingStorage[],
): StorageFactory {
  return (name, context) => {
    const storage = new CountingStorage(factory(name, context));
    opened.push(storage);
    return storage;
  };
}

Deno.test("decorated storage: a corrupt field beside a good one fails only its own reads, as without the decorator", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send([
    "HSET",
    "s:deco",
    "pgood",
    '"value"',
    "pbroken",
    "{not json",
  ]);
  const plain = createRedisStorage(redis.client);
  const opened: CountingStorage[] = [];
  for (const storage of [plain, decorated(plain, opened)]) {
    const subject = new KRules({ storage }).subject("deco");
    assert.equal(await subject.get("good"), "value");
    assert.equal(await subject.has("broken"), true);
    await assert.rejects(subject.get("broken"), (error) => {
      assert.ok(error instanceof CorruptValueError);
      assert.equal(error.field, "pbroken");
      return true;
    });
  }
  // The decorator saw the one load the Subject made, through the interface.
  assert.deepEqual(opened.map((s) => s.calls), [["loadLazy"]]);
});

Deno.test("decorated storage: the memory storage loads lazily too, so decorated and plain subjects take one path", async () => {
  const opened: CountingStorage[] = [];
  const storage = decorated(createMemoryStorage(), opened);
  const krules = new KRules({ storage });
  const writer = krules.subject("m");
  await writer.set("a", { n: 1 });
  await writer.setExt("x", true);
  await writer.store();
  const reader = krules.subject("m");
  assert.deepEqual(await reader.dict(), {
    name: "m",
    a: { n: 1 },
    ext: { x: true },
  });
  assert.deepEqual(opened.map((s) => s.calls), [
    ["loadLazy", "store"],
    ["loadLazy"],
  ]);
});

Deno.test("decorated storage: a storage without loadLazy is loaded through load()", async () => {
  const inner = createMemoryStorage();
  const calls: string[] = [];
  const eagerOnly: StorageFactory = (name) => {
    const storage = inner(name);
    return {
      isConcurrencySafe: () => storage.isConcurrencySafe(),
      isPersistent: () => storage.isPersistent(),
      load: () => {
        calls.push("load");
        return storage.load();
      },
      store: (changes) => storage.store(changes),
      set: (prop, old) => storage.set(prop, old),
      get: (prop) => storage.get(prop),
      delete: (prop) => storage.delete(prop),
      getExtProps: () => storage.getExtProps(),
      async flush() {
        await storage.flush();
        return this;
      },
    };
  };
  const krules = new KRules({ storage: eagerOnly });
  await krules.subject("e").set("a", 1);
  await krules.subject("e").store(); // a fresh subject: nothing to store
  const subject = krules.subject("e");
  await subject.set("a", 2);
  await subject.store();
  assert.equal(await krules.subject("e").get("a"), 2);
  assert.deepEqual(calls, ["load", "load", "load"]);
});
