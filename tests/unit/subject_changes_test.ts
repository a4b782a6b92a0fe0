/**
 * The pending changes of a subject's cache (src/subject/_changes.ts) alone,
 * without storage: what each set and delete leaves for store(), the batch it
 * becomes, and how an older batch merges under newer changes.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { EncodedProperty } from "../../src/storage/property.ts";
import {
  batchOf,
  type Cache,
  checkedText,
  emptyCache,
  endAll,
  endChange,
  hasPending,
  mergeUnder,
  newSection,
  overlay,
  recordAllCached,
  recordCached,
  recordDeleted,
  setCached,
} from "../../src/subject/_changes.ts";
import { BatchValues } from "../../src/subject/_batch_values.ts";

/** A cache loaded with these default properties. */
function loaded(props: Record<string, unknown>): Cache {
  return {
    p: newSection(new Map(Object.entries(props))),
    e: newSection(new Map()),
  };
}

/** What store() would send for a cache, as names per kind. */
function sent(cache: Cache) {
  const batch = batchOf(cache, "reject");
  const names = (props: { name: string; type: string }[]) =>
    props.map((p) => p.type + p.name).sort();
  return {
    inserts: names(batch.inserts),
    updates: names(batch.updates),
    deletes: names(batch.deletes),
    conditions: batch.conditions.map((c) => ({
      name: c.prop.name,
      expected: c.expected,
    })),
  };
}

Deno.test("changes: an empty cache sends nothing, and sets on it are inserts", () => {
  const cache = emptyCache();
  assert.equal(hasPending(cache), false);
  assert.deepEqual(sent(cache).inserts, []);
  setCached(cache.p, "a", 1, "reject");
  setCached(cache.p, "b", { x: [1] }, "reject");
  setCached(cache.e, "c", "s", "reject");
  assert.equal(hasPending(cache), true);
  assert.deepEqual(sent(cache), {
    inserts: ["pa", "pb", "ec"].sort(),
    updates: [],
    deletes: [],
    conditions: [],
  });
});

Deno.test("changes: asking whether a batch of plain sets is pending keeps it a batch of plain sets (no change records)", () => {
  // The unstored-changes tracker asks after every first change; the answer
  // must not turn the cheapest batch (plain scalar sets on an empty load)
  // into one record per property.
  const cache = emptyCache();
  setCached(cache.p, "a", 1, "reject");
  assert.equal(hasPending(cache), true);
  setCached(cache.p, "b", 2, "reject");
  assert.equal(hasPending(cache), true);
  assert.equal(cache.p.fresh, true);
  assert.equal(cache.p.changes.size, 0);
  assert.deepEqual(sent(cache).inserts, ["pa", "pb"]);
});

Deno.test("changes: a property created then deleted is sent as a delete, not an insert", () => {
  const cache = emptyCache();
  setCached(cache.p, "a", 1, "reject");
  recordDeleted(cache.p, "a");
  assert.equal(cache.p.values.has("a"), false);
  assert.deepEqual(sent(cache), {
    inserts: [],
    updates: [],
    deletes: ["pa"],
    conditions: [],
  });
  // Set again: it is written, as an update of what the delete left.
  setCached(cache.p, "a", 2, "reject");
  assert.deepEqual(sent(cache).updates, ["pa"]);
  assert.deepEqual(sent(cache).deletes, []);
});

Deno.test("changes: a set over a loaded property is an update, and a value the cache kept is encoded when set", () => {
  const cache = loaded({ a: 1 });
  const value = { n: 1 };
  setCached(cache.p, "a", value, "reject");
  value.n = 2;
  const [update] = batchOf(cache, "reject").updates as EncodedProperty[];
  assert.equal(update.name, "a");
  assert.equal(update.text, '{"n":1}');
});

Deno.test("changes: function sets form one chain over the loaded text, and a plain set ends it", () => {
  const cache = loaded({ n: 1 });
  const inc = (n: unknown) => (n as number) + 1;
  assert.deepEqual(setCached(cache.p, "n", inc, "reject"), [2, 1]);
  assert.deepEqual(setCached(cache.p, "n", inc, "reject"), [3, 2]);
  const batch = batchOf(cache, "reject");
  assert.equal(batch.conditions.length, 1);
  assert.equal(batch.conditions[0].expected, "1");
  // Applied again to another stored value: both functions, in order.
  assert.equal(batch.conditions[0].update(10), 12);
  setCached(cache.p, "n", 5, "reject");
  assert.deepEqual(sent(cache).conditions, []);
  assert.deepEqual(sent(cache).updates, ["pn"]);
});

Deno.test("changes: a function over a value this cache set itself is no chain", () => {
  const cache = loaded({});
  setCached(cache.p, "n", 1, "reject");
  setCached(cache.p, "n", (n: unknown) => (n as number) + 1, "reject");
  assert.deepEqual(sent(cache), {
    inserts: ["pn"],
    updates: [],
    deletes: [],
    conditions: [],
  });
  assert.equal(cache.p.values.get("n"), 2);
});

Deno.test("changes: a function over an absent property expects the field absent", () => {
  const cache = loaded({ other: 1 });
  setCached(cache.p, "n", (n: unknown) => ((n as number) ?? 0) + 1, "reject");
  assert.deepEqual(sent(cache).conditions, [{ name: "n", expected: null }]);
  assert.deepEqual(sent(cache).inserts, ["pn"]);
});

Deno.test("changes: a bad value changes nothing", () => {
  const cache = loaded({ a: 1 });
  assert.throws(() => setCached(cache.p, "a", NaN, "reject"));
  assert.throws(() => setCached(cache.p, "a", () => 1n, "reject"));
  assert.equal(cache.p.values.get("a"), 1);
  assert.equal(hasPending(cache), false);
});

Deno.test("changes: mergeUnder keeps the newer change of a property and adds the older ones", () => {
  const older = loaded({ a: 1, b: 1, c: 1 });
  setCached(older.p, "a", "old", "reject");
  setCached(older.p, "b", "old", "reject");
  recordDeleted(older.p, "c");
  const cache = loaded({ a: 1, b: 1, c: 1 });
  setCached(cache.p, "a", "new", "reject");
  mergeUnder(cache, older);
  assert.equal(cache.p.values.get("a"), "new");
  assert.equal(cache.p.values.get("b"), "old");
  assert.equal(cache.p.values.has("c"), false);
  assert.deepEqual(sent(cache), {
    inserts: [],
    updates: ["pa", "pb"],
    deletes: ["pc"],
    conditions: [],
  });
  // The merged records are the cache's own: ending one in the older batch
  // leaves the cache's alone.
  endChange(older.p, "b");
  assert.deepEqual(sent(cache).updates, ["pa", "pb"]);
});

Deno.test("changes: mergeUnder keeps an older function chain with its expected text", () => {
  const older = loaded({ n: 1 });
  setCached(older.p, "n", (n: unknown) => (n as number) + 1, "reject");
  const cache = loaded({ n: 1 });
  mergeUnder(cache, older);
  assert.deepEqual(sent(cache).conditions, [{ name: "n", expected: "1" }]);
});

Deno.test("changes: overlay puts the newer changes on top, and endAll ends every change", () => {
  const cache = loaded({ a: 1 });
  setCached(cache.p, "a", "mine", "reject");
  setCached(cache.p, "b", "mine", "reject");
  const newer = emptyCache();
  setCached(newer.p, "a", "newer", "reject");
  overlay(cache, newer);
  assert.equal(cache.p.values.get("a"), "newer");
  assert.equal(cache.p.values.get("b"), "mine");
  endAll(cache);
  assert.equal(hasPending(cache), false);
  assert.deepEqual(sent(cache).inserts, []);
});

Deno.test("changes: a setMany() recorded at once is the same batch as its properties recorded one by one, whatever comes after", () => {
  const values: Record<string, unknown> = { a: 1, b: "two", c: null, d: true };
  /** Records the setMany() on `cache`, at once or property by property. */
  const record = (
    cache: Cache,
    atOnce: boolean,
    more: Record<string, unknown> = {},
  ) => {
    const all = { ...values, ...more };
    const allNames = Object.keys(all);
    const texts = allNames.map((name) =>
      checkedText(name, all[name], "reject")
    );
    if (atOnce) {
      recordAllCached(cache, "p", allNames, Object.values(all), texts);
    } else {
      allNames.forEach((name, i) =>
        recordCached(cache.p, name, all[name], texts[i])
      );
    }
  };
  // What is left in the cache after each follow-up, as store() and reads
  // see it, in an order where a map not filled yet would show.
  const state = (cache: Cache) => ({
    size: cache.p.values.size,
    sent: sent(cache),
    reads: ["a", "b", "c", "d", "e", "z"].map((name) => [
      cache.p.values.has(name),
      cache.p.values.get(name),
    ]),
    values: [...cache.p.values],
    pending: hasPending(cache),
    texts: batchOf(cache, "reject").inserts.map((prop) =>
      (prop as EncodedProperty).text
    ),
  });
  const followUps: [string, (cache: Cache) => void][] = [
    ["nothing", () => {}],
    ["a set", (cache) => setCached(cache.p, "b", 3, "reject")],
    ["a new property", (cache) => setCached(cache.p, "e", [1], "reject")],
    [
      "a function set",
      (cache) =>
        setCached(cache.p, "a", (n: unknown) => (n as number) + 1, "reject"),
    ],
    ["a delete", (cache) => recordDeleted(cache.p, "c")],
    ["a direct write", (cache) => endChange(cache.p, "d")],
    ["a read", (cache) => void cache.p.values.get("a")],
    ["a load overlaid", (cache) => {
      const load = loaded({ a: 0, z: 9 });
      overlay(load, cache);
      Object.assign(cache, load);
    }],
    ["a failed store merged under", (cache) => {
      const newer = emptyCache();
      setCached(newer.p, "b", "newer", "reject");
      mergeUnder(newer, cache);
      Object.assign(cache, newer);
    }],
    ["every change ended", (cache) => endAll(cache)],
  ];
  for (const [what, followUp] of followUps) {
    const atOnce = emptyCache();
    const oneByOne = emptyCache();
    record(atOnce, true);
    record(oneByOne, false);
    followUp(atOnce);
    followUp(oneByOne);
    assert.deepEqual(state(atOnce), state(oneByOne), what);
  }
  // A section that holds something already, or an object among the values
  // (whose text is taken when it is set, whatever the caller does to it
  // later): recorded one by one, as before.
  for (const [held, withObject] of [[true, false], [false, true]]) {
    const object = { x: 1 };
    const more = withObject ? { o: object } : {};
    const atOnce = emptyCache();
    const oneByOne = emptyCache();
    if (held) {
      setCached(atOnce.p, "first", 0, "reject");
      setCached(oneByOne.p, "first", 0, "reject");
    }
    record(atOnce, true, more);
    record(oneByOne, false, more);
    object.x = 2;
    assert.deepEqual(state(atOnce), state(oneByOne));
    if (withObject) assert.ok(state(atOnce).texts.includes('{"x":1}'));
  }
});

Deno.test("changes: the values of a setMany() recorded at once answer every map call as a map of them does, first call or not", () => {
  const names = ["a", "b", "c"];
  const values = [1, "two", null];
  const calls: [string, (map: Map<string, unknown>) => unknown][] = [
    ["size", (map) => map.size],
    ["get", (map) => map.get("b")],
    ["has", (map) => [map.has("c"), map.has("z")]],
    ["set", (map) => map.set("b", 3).set("d", 4).size],
    ["delete", (map) => [map.delete("a"), map.delete("z")]],
    ["clear", (map) => map.clear()],
    ["keys", (map) => [...map.keys()]],
    ["values", (map) => [...map.values()]],
    ["entries", (map) => [...map.entries()]],
    ["iterator", (map) => [...map]],
    ["forEach", (map) => {
      const seen: unknown[] = [];
      map.forEach((value, name, self) => seen.push(name, value, self === map));
      return seen;
    }],
  ];
  for (const [first, call] of calls) {
    for (const [then, next] of calls) {
      const batch = new BatchValues(names, values);
      const map = new Map(names.map((name, i) => [name, values[i]]));
      assert.deepEqual(call(batch), call(map), first);
      assert.deepEqual(next(batch), next(map), `${first}, then ${then}`);
      assert.deepEqual([...batch], [...map], `${first}, then ${then}`);
    }
  }
});
