/**
 * The behaviour suite every storage backend must pass, written once and run
 * over the memory storage and the Redis storage. It covers the storage
 * contract (ported from the Python package's own tests) and the Subject
 * semantics built on it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { PropertyNotFoundError } from "../src/storage/errors.ts";
import {
  SubjectExtProperty,
  SubjectProperty,
} from "../src/storage/property.ts";
import type { StorageFactory } from "../src/storage/types.ts";
import type { SubjectEvent } from "../src/subject/event_bus.ts";
import { KRules } from "../src/subject/krules.ts";

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

/** Registers one test of the suite; `Deno.test` by default. */
export type Register = (name: string, fn: () => Promise<void>) => void;

/**
 * Registers the behaviour suite for one backend.
 *
 * @param label Prefixed to every test name, e.g. `"redis"`.
 * @param open Opens a fresh backend for one test.
 * @param register How to register each test: `Deno.test`, or a collector
 *   that runs them as steps of one test sharing a costly server or cluster.
 */
export function defineBehaviourSuite(
  label: string,
  open: BackendOpener,
  register: Register = (name, fn) => Deno.test(name, fn),
): void {
  const test = (
    name: string,
    fn: (backend: Backend) => Promise<void> | void,
  ) =>
    register(`${label}: ${name}`, async () => {
      await using backend = await open();
      await fn(backend);
    });

  // --- The storage contract, ported from the Python package's suite. ---

  test("storage reports its concurrency safety and persistence", (b) => {
    const storage = b.storage("flags");
    assert.equal(storage.isConcurrencySafe(), true);
    assert.equal(storage.isPersistent(), b.persistent);
  });

  test("load of an unknown subject returns two empty maps", async (b) => {
    assert.deepEqual(await b.storage("nobody").load(), [{}, {}]);
  });

  test("store inserts default and extended properties", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({
      inserts: [p("name", "John"), p("age", 30), e("tenant_id", "abc-123")],
    });
    assert.deepEqual(await storage.load(), [
      { name: "John", age: 30 },
      { tenant_id: "abc-123" },
    ]);
  });

  test("store updates existing properties", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("count", 10)] });
    await storage.store({ updates: [p("count", 20)] });
    assert.deepEqual((await storage.load())[0], { count: 20 });
  });

  test("store deletes properties and keeps the others", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("name", "John"), p("age", 30)] });
    await storage.store({ deletes: [p("age")] });
    assert.deepEqual((await storage.load())[0], { name: "John" });
  });

  test("store applies inserts, updates and deletes together", async (b) => {
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
  });

  test("store with no changes changes nothing", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("a", 1)] });
    await storage.store();
    await storage.store({ inserts: [], updates: [], deletes: [] });
    assert.deepEqual(await storage.load(), [{ a: 1 }, {}]);
  });

  test("set returns the new value and the value it replaced", async (b) => {
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
  });

  test("set of an absent property reports oldValueDefault as the old value", async (b) => {
    const storage = b.storage("user-1");
    assert.deepEqual(await storage.set(p("count", 20), 0), [20, 0]);
  });

  test("function set applies the function to the stored value", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("counter", 0)] });
    const result = await storage.set(p("counter", (c: number) => c + 1));
    assert.deepEqual(result, [1, 0]);
    assert.equal(await storage.get(p("counter")), 1);
  });

  test("function set of an absent property starts from oldValueDefault", async (b) => {
    const storage = b.storage("user-1");
    assert.deepEqual(
      await storage.set(p("counter", (c: number) => c + 1), 0),
      [1, 0],
    );
    assert.equal(await storage.get(p("counter")), 1);
  });

  test("function set of an absent property without a default gets undefined", async (b) => {
    const storage = b.storage("user-1");
    const seen: unknown[] = [];
    const result = await storage.set(p("list", (old: unknown) => {
      seen.push(old);
      return ["first"];
    }));
    assert.deepEqual(seen, [undefined]);
    assert.deepEqual(result, [["first"], undefined]);
  });

  test("a function that throws rejects the set and writes nothing", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("n", 1)] });
    await assert.rejects(
      storage.set(p("n", () => {
        throw new RangeError("nope");
      })),
      RangeError,
    );
    assert.equal(await storage.get(p("n")), 1);
  });

  test("get returns a stored value", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("name", "Bob")] });
    assert.equal(await storage.get(p("name")), "Bob");
  });

  test("get of a missing property rejects with PropertyNotFoundError naming it", async (b) => {
    const storage = b.storage("user-1");
    await assert.rejects(storage.get(p("nonexistent")), (error) => {
      assert.ok(error instanceof PropertyNotFoundError);
      assert.equal(error.property, "nonexistent");
      assert.match(error.message, /nonexistent/);
      return true;
    });
  });

  test("a stored JSON null is a value, not an absence", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("nothing", null)] });
    assert.equal(await storage.get(p("nothing")), null);
    assert.deepEqual(await storage.set(p("nothing", 1), "default"), [1, null]);
  });

  test("extended properties live apart from default ones of the same name", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("id", "default"), e("id", "extended")] });
    assert.equal(await storage.get(e("id")), "extended");
    assert.equal(await storage.get(p("id")), "default");
    await storage.delete(e("id"));
    await assert.rejects(storage.get(e("id")), PropertyNotFoundError);
    assert.equal(await storage.get(p("id")), "default");
  });

  test("getExtProps returns only the extended properties", async (b) => {
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
  });

  test("getExtProps without extended properties returns an empty map", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("name", "Alice")] });
    assert.deepEqual(await storage.getExtProps(), {});
  });

  test("delete removes a property and an absent one is no error", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({ inserts: [p("temp", "value"), p("keep", 1)] });
    await storage.delete(p("temp"));
    await storage.delete(p("nonexistent"));
    assert.deepEqual(await storage.load(), [{ keep: 1 }, {}]);
  });

  test("flush deletes every property and returns the storage", async (b) => {
    const storage = b.storage("user-1");
    await storage.store({
      inserts: [p("name", "Alice"), p("age", 30), e("tenant_id", "t1")],
    });
    assert.equal(await storage.flush(), storage);
    assert.deepEqual(await storage.load(), [{}, {}]);
  });

  test("the factory ignores eventInfo and eventData", async (b) => {
    const plain = b.storage("shared");
    const withContext = b.storage("shared", {
      eventInfo: { type: "user.login", source: "test" },
      eventData: { anything: [1, 2, 3] },
    });
    await plain.store({ inserts: [p("a", 1)] });
    assert.deepEqual(await withContext.load(), [{ a: 1 }, {}]);
  });

  test("values persist across storage instances", async (b) => {
    await b.storage("user-1").store({
      inserts: [p("name", "Ada"), e("tenant", "t")],
    });
    const reopened = await b.reopen();
    assert.deepEqual(await reopened("user-1").load(), [
      { name: "Ada" },
      { tenant: "t" },
    ]);
  });

  test("values come back as copies, never as the stored object", async (b) => {
    const storage = b.storage("user-1");
    const value = { list: [1, 2] };
    await storage.store({ inserts: [p("obj", value)] });
    value.list.push(3);
    const first = await storage.get(p("obj")) as { list: number[] };
    assert.deepEqual(first, { list: [1, 2] });
    first.list.push(4);
    assert.deepEqual(await storage.get(p("obj")), { list: [1, 2] });
  });

  test("nested JSON values round-trip unchanged", async (b) => {
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
  });

  test("odd subject and property names round-trip", async (b) => {
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
  });

  test("an empty subject name is rejected with TypeError", (b) => {
    assert.throws(() => b.storage(""), TypeError);
  });

  // --- Subject semantics over this storage. ---

  const krulesOn = (b: Backend) => new KRules({ storage: b.storage });

  test("subject: cached sets reach storage only on store(), in one write", async (b) => {
    const krules = krulesOn(b);
    const user = krules.subject("user-123");
    await user.set("name", "John");
    await user.setExt("tenant", "t1");
    assert.deepEqual(await krules.subject("user-123").dict(), {
      name: "user-123",
      ext: {},
    });
    await user.store();
    assert.deepEqual(await krules.subject("user-123").dict(), {
      name: "John",
      ext: { tenant: "t1" },
    });
  });

  test("subject: persists across KRules instances and connections", async (b) => {
    const first = krulesOn(b).subject("device-456");
    await first.set("temperature", 75.5);
    await first.set("status", "online");
    await first.store();
    const second = new KRules({ storage: await b.reopen() }).subject(
      "device-456",
    );
    assert.equal(await second.get("temperature"), 75.5);
    assert.deepEqual((await second.keys()).sort(), ["status", "temperature"]);
  });

  test("subject: store() drops the cache, so the next read sees other writers", async (b) => {
    const krules = krulesOn(b);
    const mine = krules.subject("s");
    await mine.set("a", 1);
    await mine.store();
    const other = krules.subject("s");
    await other.set("a", 2);
    await other.store();
    assert.equal(await mine.get("a"), 2);
    // Without a store() in between, the loaded cache keeps serving reads.
    await other.set("a", 3);
    await other.store();
    assert.equal(await mine.get("a"), 2);
    await mine.store();
    assert.equal(await mine.get("a"), 3);
  });

  test("subject: store() writes exactly the created, updated and deleted properties", async (b) => {
    const krules = krulesOn(b);
    const seed = krules.subject("s");
    await seed.set("keep", "k");
    await seed.set("change", 1);
    await seed.set("remove", true);
    await seed.setExt("x", "ext");
    await seed.store();
    const subject = krules.subject("s");
    await subject.set("change", 2);
    await subject.delete("remove");
    await subject.set("new", "n");
    await subject.deleteExt("x");
    // Another writer changes an untouched property meanwhile; store() must not revert it.
    const other = krules.subject("s");
    await other.set("keep", "changed elsewhere");
    await other.store();
    await subject.store();
    assert.deepEqual(await krules.subject("s").dict(), {
      name: "s",
      keep: "changed elsewhere",
      change: 2,
      new: "n",
      ext: {},
    });
  });

  test("subject: get of a missing property rejects unless a default is given", async (b) => {
    const subject = krulesOn(b).subject("s");
    await assert.rejects(subject.get("missing"), PropertyNotFoundError);
    await assert.rejects(subject.getExt("missing"), PropertyNotFoundError);
    assert.equal(await subject.get("missing", { default: 0 }), 0);
    assert.equal(await subject.get("missing", { default: null }), null);
    assert.equal(
      await subject.get("missing", { default: undefined }),
      undefined,
    );
    assert.equal(await subject.getExt("missing", { default: "d" }), "d");
    assert.equal(
      await subject.get("missing", { default: 1, useCache: false }),
      1,
    );
    await assert.rejects(
      subject.get("missing", { useCache: false }),
      PropertyNotFoundError,
    );
  });

  test("subject: deleting a missing property rejects with PropertyNotFoundError", async (b) => {
    const subject = krulesOn(b).subject("s");
    await assert.rejects(subject.delete("missing"), PropertyNotFoundError);
    await assert.rejects(subject.deleteExt("missing"), PropertyNotFoundError);
    await assert.rejects(
      subject.delete("missing", { useCache: false }),
      PropertyNotFoundError,
    );
  });

  test("subject: useCache false writes through at once and refreshes a loaded cache", async (b) => {
    const krules = krulesOn(b);
    const subject = krules.subject("s");
    await subject.set("cached", "c");
    assert.deepEqual(await subject.set("direct", 1, { useCache: false }), [
      1,
      undefined,
    ]);
    assert.equal(await krules.subject("s").get("direct"), 1);
    assert.equal(await subject.get("direct"), 1);
    assert.deepEqual(
      await subject.set("direct", (n: number) => n + 1, { useCache: false }),
      [2, 1],
    );
    assert.equal(await subject.get("direct"), 2);
    // The direct write is not a pending change: store() must not write it
    // back over a newer value from another writer.
    await krules.subject("s").set("direct", 100, { useCache: false });
    await subject.store();
    assert.equal(await krules.subject("s").get("direct"), 100);
    assert.equal(await krules.subject("s").get("cached"), "c");
  });

  test("subject: useCache false reads and deletes go to storage", async (b) => {
    const krules = krulesOn(b);
    const subject = krules.subject("s");
    await subject.set("a", 1);
    await subject.store();
    assert.equal(await subject.get("a"), 1);
    await krules.subject("s").set("a", 2, { useCache: false });
    assert.equal(
      await subject.get("a"),
      1,
      "the cache still holds the old value",
    );
    assert.equal(await subject.get("a", { useCache: false }), 2);
    assert.equal(
      await subject.get("a"),
      2,
      "the direct read refreshed the cache",
    );
    await subject.delete("a", { useCache: false });
    assert.equal(await subject.has("a"), false);
    await assert.rejects(krules.subject("s").get("a"), PropertyNotFoundError);
    await subject.setExt("x", 1, { useCache: false });
    assert.equal(await subject.getExt("x", { useCache: false }), 1);
    await subject.deleteExt("x", { useCache: false });
    assert.equal(await subject.hasExt("x"), false);
  });

  test("subject: useCacheDefault false makes every call go to storage", async (b) => {
    const krules = krulesOn(b);
    const subject = krules.subject("s", { useCacheDefault: false });
    await subject.set("a", 1);
    await subject.setExt("b", 2);
    assert.deepEqual(await krules.subject("s").dict(), {
      name: "s",
      a: 1,
      ext: { b: 2 },
    });
  });

  test("subject: has, hasExt, keys and getExtProps read the cache", async (b) => {
    const subject = krulesOn(b).subject("s");
    await subject.set("a", 1);
    await subject.set("b", null);
    await subject.setExt("t", "x");
    assert.equal(await subject.has("a"), true);
    assert.equal(await subject.has("b"), true);
    assert.equal(await subject.has("t"), false);
    assert.equal(await subject.hasExt("t"), true);
    assert.deepEqual(await subject.keys(), ["a", "b"]);
    assert.deepEqual(await subject.getExtProps(), { t: "x" });
  });

  test("subject: dict() is { name, ...props, ext }", async (b) => {
    const krules = krulesOn(b);
    const subject = krules.subject("user-123");
    await subject.set("email", "john@example.com");
    await subject.set("age", 30);
    await subject.setExt("tenant_id", "t-1");
    const expected = {
      name: "user-123",
      email: "john@example.com",
      age: 30,
      ext: { tenant_id: "t-1" },
    };
    assert.deepEqual(await subject.dict(), expected);
    await subject.store();
    assert.deepEqual(await krules.subject("user-123").dict(), expected);
  });

  test("subject: a cached function set sees the old value and may mutate its copy", async (b) => {
    const subject = krulesOn(b).subject("s");
    await subject.set("list", [1]);
    const [value, old] = await subject.set("list", (l: number[]) => {
      l.push(2);
      return l;
    });
    assert.deepEqual(old, [1]);
    assert.deepEqual(value, [1, 2]);
    assert.deepEqual(await subject.get("list"), [1, 2]);
  });

  test("subject: set emits subject-property-changed with its payload and extra", async (b) => {
    const krules = krulesOn(b);
    const events: SubjectEvent[] = [];
    krules.eventBus.on("*", (event) => {
      events.push(event);
    });
    const subject = krules.subject("user-1");
    await subject.set("status", "active", { extra: { reason: "login" } });
    await subject.store();
    await subject.set("status", "idle", { useCache: false });
    assert.equal(events.length, 2);
    assert.equal(events[0].type, "subject-property-changed");
    assert.equal(events[0].subject, subject);
    assert.deepEqual(events[0].payload, {
      property_name: "status",
      old_value: null,
      value: "active",
    });
    assert.deepEqual(events[0].extra, { reason: "login" });
    assert.deepEqual(events[1].payload, {
      property_name: "status",
      old_value: "active",
      value: "idle",
    });
    assert.equal(events[1].extra, undefined);
  });

  test("subject: a set that changes nothing (deep equality) emits nothing", async (b) => {
    const krules = krulesOn(b);
    const events: SubjectEvent[] = [];
    krules.eventBus.on("subject-property-changed", (event) => {
      events.push(event);
    });
    const subject = krules.subject("s");
    await subject.set("obj", { a: [1, { b: 2 }], c: null });
    await subject.set("obj", { c: null, a: [1, { b: 2 }] });
    await subject.set("obj", (o: unknown) => o);
    await subject.store();
    await subject.set("obj", { a: [1, { b: 2 }], c: null }, {
      useCache: false,
    });
    assert.equal(events.length, 1);
    await subject.set("obj", { a: [1, { b: 3 }], c: null });
    assert.equal(events.length, 2);
  });

  test("subject: muted set and delete emit nothing", async (b) => {
    const krules = krulesOn(b);
    const events: SubjectEvent[] = [];
    krules.eventBus.on("*", (event) => {
      events.push(event);
    });
    const subject = krules.subject("s");
    await subject.set("a", 1, { muted: true });
    await subject.set("a", 2, { muted: true, useCache: false });
    await subject.delete("a", { muted: true });
    await subject.setExt("x", 1);
    await subject.deleteExt("x");
    assert.deepEqual(events, []);
  });

  test("subject: delete emits subject-property-deleted with the old value", async (b) => {
    const krules = krulesOn(b);
    const events: SubjectEvent[] = [];
    krules.eventBus.on("subject-property-deleted", (event) => {
      events.push(event);
    });
    const subject = krules.subject("s");
    await subject.set("a", { v: 1 });
    await subject.set("b", 2);
    await subject.store();
    await subject.delete("a", { extra: { why: "expired" } });
    await subject.delete("b", { useCache: false });
    assert.deepEqual(events.map((event) => [event.payload, event.extra]), [
      [{ property_name: "a", old_value: { v: 1 } }, { why: "expired" }],
      [{ property_name: "b", old_value: 2 }, undefined],
    ]);
  });

  test("subject: flush emits a deletion per property, then subject-deleted, and empties storage", async (b) => {
    const krules = krulesOn(b);
    const subject = krules.subject("device-456");
    await subject.set("email", "user@example.com");
    await subject.set("age", 30);
    await subject.setExt("tenant", "t1");
    await subject.store();
    const events: SubjectEvent[] = [];
    krules.eventBus.on("*", (event) => {
      events.push(event);
    });
    const flushing = krules.subject("device-456");
    assert.equal(await flushing.flush(), flushing);
    assert.deepEqual(events.map((event) => [event.type, event.payload]), [
      ["subject-property-deleted", {
        property_name: "email",
        old_value: "user@example.com",
      }],
      ["subject-property-deleted", { property_name: "age", old_value: 30 }],
      ["subject-property-deleted", {
        property_name: "tenant",
        old_value: "t1",
      }],
      ["subject-deleted", {
        props: { email: "user@example.com", age: 30 },
        ext_props: { tenant: "t1" },
      }],
    ]);
    assert.deepEqual(await b.storage("device-456").load(), [{}, {}]);
    assert.deepEqual(await flushing.dict(), { name: "device-456", ext: {} });
  });

  test("subject: flush of an empty subject still emits subject-deleted", async (b) => {
    const krules = krulesOn(b);
    const payloads: unknown[] = [];
    krules.eventBus.on("subject-deleted", (event) => {
      payloads.push(event.payload);
    });
    await krules.subject("empty").flush();
    assert.deepEqual(payloads, [{ props: {}, ext_props: {} }]);
  });

  test("subject: eventInfo() returns what KRules.subject was given", (b) => {
    const krules = krulesOn(b);
    const info = { type: "user.login", source: "web" };
    assert.equal(krules.subject("s", { eventInfo: info }).eventInfo(), info);
    assert.deepEqual(krules.subject("s").eventInfo(), {});
  });
}
