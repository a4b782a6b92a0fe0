/**
 * The Subject's cache bookkeeping, observed through a storage wrapper that
 * records calls and can hold them at a gate (to order concurrent calls
 * deterministically, without sleeping).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import type {
  StorageContext,
  StorageFactory,
  StoreChanges,
  SubjectStorage,
} from "../../src/storage/types.ts";
import { KRules } from "../../src/subject/krules.ts";

interface Spy {
  readonly factory: StorageFactory;
  readonly calls: string[];
  readonly stores: {
    inserts: string[];
    updates: string[];
    deletes: string[];
  }[];
  readonly contexts: (StorageContext | undefined)[];
  /** While set, load() and store() wait for it before running. */
  gate: Promise<void> | undefined;
}

function spy(inner: StorageFactory = createMemoryStorage()): Spy {
  const state: Spy = {
    calls: [],
    stores: [],
    contexts: [],
    gate: undefined,
    factory: (name, context) => {
      state.contexts.push(context);
      const storage = inner(name, context);
      const wrapped: SubjectStorage = {
        isConcurrencySafe: () => storage.isConcurrencySafe(),
        isPersistent: () => storage.isPersistent(),
        async load() {
          state.calls.push("load");
          const gate = state.gate;
          if (gate !== undefined) await gate;
          return await storage.load();
        },
        async store(changes: StoreChanges = {}) {
          state.calls.push("store");
          const names = (list: StoreChanges["inserts"]) =>
            (list ?? []).map((prop) => prop.type + prop.name).sort();
          state.stores.push({
            inserts: names(changes.inserts),
            updates: names(changes.updates),
            deletes: names(changes.deletes),
          });
          const gate = state.gate;
          if (gate !== undefined) await gate;
          await storage.store(changes);
        },
        set: (prop, old) => (state.calls.push("set"), storage.set(prop, old)),
        get: (prop) => (state.calls.push("get"), storage.get(prop)),
        delete: (prop) => (state.calls.push("delete"), storage.delete(prop)),
        getExtProps: () => storage.getExtProps(),
        async flush() {
          state.calls.push("flush");
          await storage.flush();
          return wrapped;
        },
      } as SubjectStorage;
      return wrapped;
    },
  };
  return state;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

Deno.test("subject: the cache loads lazily, and concurrent first uses share one load()", async () => {
  const storage = spy();
  const subject = new KRules({ storage: storage.factory }).subject("s");
  assert.deepEqual(storage.calls, []);
  await Promise.all([
    subject.get("a", { default: 0 }),
    subject.has("a"),
    subject.keys(),
    subject.dict(),
    subject.set("a", 1),
  ]);
  await subject.get("a");
  assert.deepEqual(storage.calls, ["load"]);
});

Deno.test("subject: store() sends new names as inserts, changed as updates, removed as deletes", async () => {
  const storage = spy();
  const krules = new KRules({ storage: storage.factory });
  const seed = krules.subject("s");
  for (const name of ["b", "c", "f"]) await seed.set(name, 0);
  await seed.setExt("x", 0);
  await seed.store();
  storage.stores.length = 0;

  const subject = krules.subject("s");
  await subject.set("a", 1); // new
  await subject.set("a", 2); // still new
  await subject.set("b", 1); // changed
  await subject.delete("c"); // removed
  await subject.set("d", 1);
  await subject.delete("d"); // created and removed before any store
  await subject.delete("f");
  await subject.set("f", 1); // removed, then set again: an update
  await subject.setExt("x", 1);
  await subject.setExt("y", 1);
  await subject.store();
  assert.deepEqual(storage.stores, [{
    inserts: ["pa", "ey"].sort(),
    updates: ["pb", "pf", "ex"].sort(),
    deletes: ["pc", "pd"],
  }]);
  assert.deepEqual(await krules.subject("s").dict(), {
    name: "s",
    a: 2,
    b: 1,
    f: 1,
    ext: { x: 1, y: 1 },
  });
});

Deno.test("subject: a batch on an empty subject keeps its exact changes through deletes, function sets, objects, direct reads and direct writes", async () => {
  const storage = spy();
  const krules = new KRules({ storage: storage.factory });
  const subject = krules.subject("s");
  await subject.set("a", 1);
  await subject.set("b", "x");
  await subject.set("a", 2);
  // A direct read of a pending property leaves it pending.
  assert.equal(await subject.get("a", { useCache: false, default: "-" }), "-");
  assert.equal(await subject.get("a"), 2);
  await subject.delete("b"); // created, then removed
  await subject.set("c", 3);
  await subject.set("d", { n: 1 });
  await subject.set("e", (n?: number) => (n ?? 0) + 1);
  await subject.set("f", 5);
  await subject.set("f", 6, { useCache: false }); // written: no longer pending
  await subject.store();

  const plain = krules.subject("t");
  await plain.set("a", 1);
  await plain.setMany({ b: 2, c: "three" });
  await plain.set("b", 9, { useCache: false });
  await plain.store();

  assert.deepEqual(storage.stores, [
    { inserts: ["pa", "pc", "pd", "pe"], updates: [], deletes: ["pb"] },
    { inserts: ["pa", "pc"], updates: [], deletes: [] },
  ]);
  assert.deepEqual(await krules.subject("s").dict(), {
    name: "s",
    a: 2,
    c: 3,
    d: { n: 1 },
    e: 1,
    f: 6,
    ext: {},
  });
  assert.deepEqual(await krules.subject("t").dict(), {
    name: "t",
    a: 1,
    b: 9,
    c: "three",
    ext: {},
  });
});

Deno.test("subject: store() without a loaded cache does nothing, and after reads only sends nothing to change", async () => {
  const storage = spy();
  const subject = new KRules({ storage: storage.factory }).subject("s");
  await subject.store();
  assert.deepEqual(storage.calls, []);
  await subject.has("a");
  await subject.store();
  assert.deepEqual(storage.stores, [{ inserts: [], updates: [], deletes: [] }]);
});

Deno.test("subject: changes made while store() is in flight are kept for the next store()", async () => {
  const storage = spy();
  const krules = new KRules({ storage: storage.factory });
  const subject = krules.subject("s");
  await subject.set("a", 1);
  const gate = deferred();
  storage.gate = gate.promise;
  const storing = subject.store();
  const setting = subject.set("b", 2);
  storage.gate = undefined;
  gate.resolve();
  await storing;
  await setting;
  await subject.store();
  assert.deepEqual(await krules.subject("s").dict(), {
    name: "s",
    a: 1,
    b: 2,
    ext: {},
  });
});

Deno.test("subject: a load overtaken by a direct write is discarded and loaded again", async () => {
  const storage = spy();
  const krules = new KRules({ storage: storage.factory });
  await krules.subject("s").set("a", 1, { useCache: false });
  const subject = krules.subject("s");
  const gate = deferred();
  storage.gate = gate.promise;
  const reading = subject.get("a");
  storage.gate = undefined;
  await subject.set("a", 2, { useCache: false });
  gate.resolve();
  assert.equal(await reading, 2);
  assert.equal(storage.calls.filter((call) => call === "load").length, 2);
});

Deno.test("subject: a direct read of an absent property removes it from a loaded cache", async () => {
  const krules = new KRules({ storage: createMemoryStorage() });
  const subject = krules.subject("s");
  await subject.set("a", 1, { useCache: false });
  assert.equal(await subject.has("a"), true);
  await krules.subject("s").delete("a", { useCache: false });
  assert.equal(
    await subject.has("a"),
    true,
    "the cache is stale until refreshed",
  );
  assert.equal(
    await subject.get("a", { useCache: false, default: null }),
    null,
  );
  assert.equal(await subject.has("a"), false);
});

Deno.test("subject: flush() drops the cache, so later reads see an empty subject", async () => {
  const storage = spy();
  const subject = new KRules({ storage: storage.factory }).subject("s");
  await subject.set("a", 1);
  await subject.store();
  await subject.get("a");
  await subject.flush();
  assert.equal(await subject.has("a"), false);
  assert.deepEqual(storage.calls, ["load", "store", "load", "flush", "load"]);
});

Deno.test("KRules.subject passes eventInfo and eventData to the storage factory", () => {
  const storage = spy();
  const krules = new KRules({ storage: storage.factory });
  const eventInfo = { type: "t" };
  const subject = krules.subject("s", { eventInfo, eventData: [1] });
  krules.subject("plain");
  assert.deepEqual(storage.contexts, [
    { eventInfo, eventData: [1] },
    { eventInfo: undefined, eventData: undefined },
  ]);
  assert.equal(subject.eventInfo(), eventInfo);
  assert.equal(String(subject), "s");
});

Deno.test("KRules.subject rejects an empty or non-string name with TypeError", () => {
  const krules = new KRules({ storage: createMemoryStorage() });
  assert.throws(() => krules.subject(""), TypeError);
  assert.throws(() => krules.subject(42 as never), TypeError);
});

Deno.test("subject: a property name that is not a string is rejected with TypeError", async () => {
  const subject = new KRules({ storage: createMemoryStorage() }).subject("s");
  await assert.rejects(subject.get(1 as never), TypeError);
  await assert.rejects(subject.set(null as never, 1), TypeError);
  await assert.rejects(subject.delete({} as never), TypeError);
});
