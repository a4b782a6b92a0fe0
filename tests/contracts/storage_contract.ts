/**
 * The storage contract: what every `SubjectStorage` must do, whatever keeps
 * the data. Ported from the Python package's own tests, and run over the
 * memory storage, the Redis storage, and Redis through every client kind
 * (`contracts.ts` registers it).
 *
 * @module
 */
import assert from "node:assert/strict";
import { InvalidValueError } from "../../src/json/errors.ts";
import { PropertyNotFoundError } from "../../src/storage/errors.ts";
import {
  type Property,
  SubjectExtProperty,
  SubjectProperty,
} from "../../src/storage/property.ts";
import type { StorageFactory } from "../../src/storage/types.ts";

/** One backend under test, opened fresh for each test. */
export interface Backend extends AsyncDisposable {
  /** The factory under test. */
  readonly storage: StorageFactory;
  /** What `isPersistent()` must answer. */
  readonly persistent: boolean;
  /**
   * A factory over the same data as a separate user would open it: for Redis
   * a new connection, for memory the same map.
   */
  reopen(): Promise<StorageFactory>;
}

/** Opens a fresh, empty backend. */
export type BackendOpener = () => Promise<Backend>;

/** A contract: each of its tests by name, run over a fresh backend. */
export type Contract = Readonly<
  Record<string, (backend: Backend) => Promise<void> | void>
>;

const p = (name: string, value?: unknown) => new SubjectProperty(name, value);
const e = (name: string, value?: unknown) =>
  new SubjectExtProperty(name, value);

/** Names that are awkward for keys, globs, parsers or object records. */
export const ODD_NAMES: readonly string[] = [
  "with spaces  inside ",
  "line\nbreak\r\nand\ttab",
  "glob *?[]{} chars",
  "colons:a:b::c:",
  "emoji 🚀 👩‍👩‍👧 é",
  "nul\u0000byte",
  "__proto__",
  "constructor",
  "pname",
  "x".repeat(10 * 1024),
];

/** The storage contract, test by test. */
export const STORAGE_CONTRACT: Contract = {
  "storage reports its concurrency safety and persistence": (b) => {
    const storage = b.storage("flags");
    assert.equal(storage.isConcurrencySafe(), true);
    assert.equal(storage.isPersistent(), b.persistent);
  },

  "load of an unknown subject returns two empty maps": async (b) => {
    assert.deepEqual(await b.storage("nobody").load(), [{}, {}]);
  },

  "store inserts default and extended properties": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({
      inserts: [p("name", "John"), p("age", 30), e("tenant_id", "abc-123")],
    });
    assert.deepEqual(await storage.load(), [
      { name: "John", age: 30 },
      { tenant_id: "abc-123" },
    ]);
  },

  "store updates existing properties": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("count", 10)] });
    await storage.store({ updates: [p("count", 20)] });
    assert.deepEqual((await storage.load())[0], { count: 20 });
  },

  "store deletes properties and keeps the others": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("name", "John"), p("age", 30)] });
    await storage.store({ deletes: [p("age")] });
    assert.deepEqual((await storage.load())[0], { name: "John" });
  },

  "store applies inserts, updates and deletes together": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({
      inserts: [p("name", "John"), p("age", 30), p("status", "active")],
    });
    await storage.store({
      updates: [p("name", "Jane")],
      deletes: [p("age")],
      inserts: [p("city", "NYC")],
    });
    assert.deepEqual((await storage.load())[0], {
      name: "Jane",
      status: "active",
      city: "NYC",
    });
  },

  "store takes its lists as any iterable, not only arrays": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("name", "John"), p("age", 30)] });
    await storage.store({
      inserts: new Set([p("city", "NYC")]) as unknown as Property[],
      updates: new Set([p("name", "Jane")]) as unknown as Property[],
      deletes: new Set([p("age")]) as unknown as Property[],
    });
    await storage.store({
      inserts: new Set([p("zip", "10001")]) as unknown as Property[],
    });
    assert.deepEqual((await storage.load())[0], {
      name: "Jane",
      city: "NYC",
      zip: "10001",
    });
  },

  "a property both set and deleted in one store ends deleted (sets run first, as in Python)":
    async (b) => {
      const storage = b.storage("user-1");
      await storage.store({
        inserts: [p("kept", 1), p("old", 1), e("ext", 1)],
      });
      await storage.store({
        inserts: [p("new", 2), e("ext2", 2)],
        updates: [p("old", 2), e("ext", 2)],
        deletes: [p("new"), p("old"), e("ext"), e("ext2")],
      });
      assert.deepEqual(await storage.load(), [{ kept: 1 }, {}]);
    },

  "store with no changes changes nothing": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("a", 1)] });
    await storage.store();
    await storage.store({ inserts: [], updates: [], deletes: [] });
    assert.deepEqual(await storage.load(), [{ a: 1 }, {}]);
  },

  "set returns the new value and the value it replaced": async (b) => {
    const storage = b.storage("user-1");
    assert.deepEqual(await storage.set(p("name", "Alice")), [
      "Alice",
      undefined,
    ]);
    assert.deepEqual(await storage.set(p("name", "Bob"), "ignored"), [
      "Bob",
      "Alice",
    ]);
    assert.deepEqual((await storage.load())[0], { name: "Bob" });
  },

  "set of an absent property reports oldValueDefault as the old value": async (
    b,
  ) => {
    const storage = b.storage("user-1");
    assert.deepEqual(await storage.set(p("count", 20), 0), [20, 0]);
  },

  "function set applies the function to the stored value": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("counter", 0)] });
    const result = await storage.set(p("counter", (c: number) => c + 1));
    assert.deepEqual(result, [1, 0]);
    assert.equal(await storage.get(p("counter")), 1);
  },

  "function set of an absent property starts from oldValueDefault": async (
    b,
  ) => {
    const storage = b.storage("user-1");
    assert.deepEqual(
      await storage.set(p("counter", (c: number) => c + 1), 0),
      [1, 0],
    );
    assert.equal(await storage.get(p("counter")), 1);
  },

  "function set of an absent property without a default gets undefined": async (
    b,
  ) => {
    const storage = b.storage("user-1");
    const seen: unknown[] = [];
    const result = await storage.set(p("list", (old: unknown) => {
      seen.push(old);
      return ["first"];
    }));
    assert.deepEqual(seen, [undefined]);
    assert.deepEqual(result, [["first"], undefined]);
  },

  "a function that throws rejects the set and writes nothing": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("n", 1)] });
    await assert.rejects(
      storage.set(p("n", () => {
        throw new RangeError("nope");
      })),
      RangeError,
    );
    assert.equal(await storage.get(p("n")), 1);
  },

  "get returns a stored value": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("name", "Bob")] });
    assert.equal(await storage.get(p("name")), "Bob");
  },

  "get of a missing property rejects with PropertyNotFoundError naming it":
    async (b) => {
      const storage = b.storage("user-1");
      await assert.rejects(storage.get(p("nonexistent")), (error) => {
        assert.ok(error instanceof PropertyNotFoundError);
        assert.equal(error.property, "nonexistent");
        assert.match(error.message, /nonexistent/);
        return true;
      });
    },

  "a stored JSON null is a value, not an absence": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("nothing", null)] });
    assert.equal(await storage.get(p("nothing")), null);
    assert.deepEqual(await storage.set(p("nothing", 1), "default"), [1, null]);
  },

  "extended properties live apart from default ones of the same name": async (
    b,
  ) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("id", "default"), e("id", "extended")] });
    assert.equal(await storage.get(e("id")), "extended");
    assert.equal(await storage.get(p("id")), "default");
    await storage.delete(e("id"));
    await assert.rejects(storage.get(e("id")), PropertyNotFoundError);
    assert.equal(await storage.get(p("id")), "default");
  },

  "getExtProps returns only the extended properties": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({
      inserts: [
        p("name", "Alice"),
        e("tenant_id", "tenant-1"),
        e("env", "prod"),
      ],
    });
    assert.deepEqual(await storage.getExtProps(), {
      tenant_id: "tenant-1",
      env: "prod",
    });
  },

  "getExtProps without extended properties returns an empty map": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("name", "Alice")] });
    assert.deepEqual(await storage.getExtProps(), {});
  },

  "delete removes a property and an absent one is no error": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("temp", "value"), p("keep", 1)] });
    await storage.delete(p("temp"));
    await storage.delete(p("nonexistent"));
    assert.deepEqual(await storage.load(), [{ keep: 1 }, {}]);
  },

  "flush deletes every property and returns the storage": async (b) => {
    const storage = b.storage("user-1");
    await storage.store({
      inserts: [p("name", "Alice"), p("age", 30), e("tenant_id", "t1")],
    });
    assert.equal(await storage.flush(), storage);
    assert.deepEqual(await storage.load(), [{}, {}]);
  },

  "the factory ignores eventInfo and eventData": async (b) => {
    const plain = b.storage("shared");
    const withContext = b.storage("shared", {
      eventInfo: { type: "user.login", source: "test" },
      eventData: { anything: [1, 2, 3] },
    });
    await plain.store({ inserts: [p("a", 1)] });
    assert.deepEqual(await withContext.load(), [{ a: 1 }, {}]);
  },

  "values persist across storage instances": async (b) => {
    await b.storage("user-1").store({
      inserts: [p("name", "Ada"), e("tenant", "t")],
    });
    const reopened = await b.reopen();
    assert.deepEqual(await reopened("user-1").load(), [
      { name: "Ada" },
      { tenant: "t" },
    ]);
  },

  "values come back as copies, never as the stored object": async (b) => {
    const storage = b.storage("user-1");
    const value = { list: [1, 2] };
    await storage.store({ inserts: [p("obj", value)] });
    value.list.push(3);
    const first = await storage.get(p("obj")) as { list: number[] };
    assert.deepEqual(first, { list: [1, 2] });
    first.list.push(4);
    assert.deepEqual(await storage.get(p("obj")), { list: [1, 2] });
  },

  "nested JSON values round-trip unchanged": async (b) => {
    const storage = b.storage("user-1");
    // Parsed from text, so that "__proto__" is an own key, not the prototype.
    const value = JSON.parse(`{
      "s": "é 🚀 \\"quoted\\" \\\\ \\n",
      "n": [0, -1, 1.5, 1e300, -2.5e-300],
      "b": [true, false],
      "nil": null,
      "deep": { "a": { "b": { "c": [[], {}] } } },
      "": "empty key",
      "__proto__": "own data"
    }`);
    assert.equal(Object.hasOwn(value, "__proto__"), true);
    await storage.set(p("v", value));
    const back = await storage.get(p("v"));
    assert.deepEqual(back, value);
    assert.equal(Object.hasOwn(back as object, "__proto__"), true);
  },

  "odd subject and property names round-trip": async (b) => {
    for (const name of ODD_NAMES) {
      const storage = b.storage(name);
      await storage.store({ inserts: [p(name, name), e(name, [name])] });
      await storage.set(p(`${name}-set`, 1));
      const [props, extProps] = await (await b.reopen())(name).load();
      assert.deepEqual(Object.keys(props).sort(), [name, `${name}-set`].sort());
      assert.equal(props[name], name);
      assert.deepEqual(extProps[name], [name]);
      assert.equal(await storage.get(p(name)), name);
      assert.equal(Object.getPrototypeOf(props), Object.prototype);
    }
    // The empty string is a valid property name, as in Python.
    const storage = b.storage("empty-property-name");
    await storage.store({ inserts: [p("", "empty")] });
    assert.deepEqual(await storage.load(), [{ "": "empty" }, {}]);
  },

  "a conditioned write is stored as is while its field still holds the text it was computed from":
    async (b) => {
      const storage = b.storage("c");
      await storage.store({ inserts: [p("n", 1), e("x", "a")] });
      const calls: unknown[] = [];
      await storage.store({
        updates: [p("n", 2), e("x", "ab")],
        inserts: [p("other", true)],
        conditions: [
          { prop: p("n"), expected: "1", update: (old) => calls.push(old) },
          { prop: e("x"), expected: '"a"', update: (old) => calls.push(old) },
        ],
      });
      assert.deepEqual(calls, []);
      assert.deepEqual(await storage.load(), [
        { n: 2, other: true },
        { x: "ab" },
      ]);
    },

  "a conditioned write whose field changed is computed again from the stored value, with the rest of the store":
    async (b) => {
      const storage = b.storage("c");
      await storage.store({ inserts: [p("n", 5), p("gone", 1)] });
      const increment = (old: unknown) => ((old as number) ?? 0) + 1;
      // Computed from n = 1, an absent m and a present-but-now-absent one.
      await storage.store({
        updates: [p("n", 2), p("gone", 2)],
        inserts: [p("m", 1), p("plain", "p")],
        deletes: [p("unrelated")],
        conditions: [
          { prop: p("n"), expected: "1", update: increment },
          { prop: p("m"), expected: "7", update: increment },
          { prop: p("gone"), expected: "1", update: increment },
        ],
      });
      assert.deepEqual(await storage.load(), [
        { n: 6, m: 1, gone: 2, plain: "p" },
        {},
      ]);
      // Expected absent, but another writer created it.
      await storage.store({
        inserts: [p("n", 1)],
        conditions: [{ prop: p("n"), expected: null, update: increment }],
      });
      assert.equal(await storage.get(p("n")), 7);
    },

  "a bad condition, or a re-computation that throws or returns a bad value, writes nothing":
    async (b) => {
      const storage = b.storage("c");
      await storage.store({ inserts: [p("n", 5)] });
      const before = await storage.load();
      // A condition on a property the store does not write.
      await assert.rejects(
        storage.store({
          inserts: [p("a", 1)],
          conditions: [{ prop: p("b"), expected: null, update: () => 1 }],
        }),
        TypeError,
      );
      await assert.rejects(
        storage.store({
          inserts: [p("a", 1)],
          updates: [p("n", 2)],
          conditions: [{
            prop: p("n"),
            expected: "1",
            update: () => {
              throw new RangeError("no");
            },
          }],
        }),
        RangeError,
      );
      await assert.rejects(
        storage.store({
          inserts: [p("a", 1)],
          updates: [p("n", 2)],
          conditions: [{ prop: p("n"), expected: "1", update: () => NaN }],
        }),
        InvalidValueError,
      );
      assert.deepEqual(await storage.load(), before);
    },

  "an empty subject name is rejected with TypeError": (b) => {
    assert.throws(() => b.storage(""), TypeError);
  },
};
