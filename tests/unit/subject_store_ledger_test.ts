/**
 * The ledger of a subject's stores (src/subject/_store_ledger.ts) alone,
 * without storage: which changes of a failed batch come back, and where.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type Cache,
  emptyCache,
  hasPending,
  pendingNames,
  setCached,
} from "../../src/subject/_changes.ts";
import { StoreLedger } from "../../src/subject/_store_ledger.ts";

/** A batch of cached sets of these default properties. */
function batch(props: Record<string, unknown>): Cache {
  const cache = emptyCache();
  for (const [name, value] of Object.entries(props)) {
    setCached(cache.p, name, value, "reject");
  }
  return cache;
}

function pending(cache: Cache): string[] {
  return [...pendingNames(cache.p)].sort();
}

Deno.test("ledger: a store in flight is counted until it ends", () => {
  const ledger = new StoreLedger();
  assert.equal(ledger.storing, false);
  const first = batch({ a: 1 });
  const second = batch({ b: 1 });
  const one = ledger.begin(first);
  const two = ledger.begin(second);
  assert.ok(two > one);
  assert.deepEqual([...ledger.batches()], [first, second]);
  ledger.end(first);
  assert.equal(ledger.storing, true);
  ledger.end(second);
  assert.equal(ledger.storing, false);
  assert.deepEqual([...ledger.batches()], []);
});

Deno.test("ledger: a newer write is not undone by an older failed batch", () => {
  const ledger = new StoreLedger();
  const older = batch({ a: "old", b: "old" });
  const newer = batch({ a: "new" });
  const one = ledger.begin(older);
  const two = ledger.begin(newer);
  // The newer store wrote, while the older one was still in flight.
  ledger.written(newer, two);
  ledger.end(newer);
  const restored = ledger.restore(older, one, null, true);
  // Something newer was written: the batch waits for a load, not as cache.
  assert.equal(restored, null);
  ledger.end(older);
  assert.equal(ledger.waiting(), true);
  assert.deepEqual(pending(older), ["b"]);
  const cache = emptyCache();
  ledger.mergeInto(cache);
  assert.equal(ledger.waiting(), false);
  assert.deepEqual(pending(cache), ["b"]);
  assert.equal(cache.p.values.has("a"), false);
});

Deno.test("ledger: a newer batch still in flight keeps its properties out of an older failed one", () => {
  const ledger = new StoreLedger();
  const older = batch({ a: "old", b: "old" });
  const newer = batch({ b: "new" });
  const one = ledger.begin(older);
  ledger.begin(newer);
  const cache = emptyCache();
  setCached(cache.p, "c", "meanwhile", "reject");
  assert.equal(ledger.restore(older, one, cache, true), cache);
  assert.deepEqual(pending(cache), ["a", "c"]);
});

Deno.test("ledger: an older write does not count against a newer failed batch", () => {
  const ledger = new StoreLedger();
  const older = batch({ a: "old" });
  const newer = batch({ a: "new" });
  ledger.begin(older);
  const two = ledger.begin(newer);
  ledger.written(older, 1);
  ledger.end(older);
  // Idle and nothing newer: the failed batch becomes the cache again.
  const restored = ledger.restore(newer, two, null, true);
  assert.equal(restored, newer);
  assert.equal(restored!.p.values.get("a"), "new");
  assert.equal(ledger.waiting(), false);
});

Deno.test("ledger: a failed batch becomes the cache only when idle", () => {
  const ledger = new StoreLedger();
  const failed = batch({ a: 1 });
  const one = ledger.begin(failed);
  assert.equal(ledger.restore(failed, one, null, false), null);
  assert.equal(ledger.holdsUnstored(), true);
  // A second failed batch, older, goes under the one waiting.
  const older = batch({ a: 0, b: 0 });
  assert.equal(ledger.restore(older, 0, null, false), null);
  const cache = emptyCache();
  ledger.mergeInto(cache);
  assert.equal(cache.p.values.get("a"), 1);
  assert.equal(cache.p.values.get("b"), 0);
});

Deno.test("ledger: a direct write ends its property in the batches in flight and the one waiting", () => {
  const ledger = new StoreLedger();
  const waiting = batch({ a: 1, b: 1 });
  ledger.park(waiting);
  const inFlight = batch({ a: 2, c: 2 });
  ledger.begin(inFlight);
  ledger.endPending("p", "a");
  assert.deepEqual(pending(waiting), ["b"]);
  assert.deepEqual(pending(inFlight), ["c"]);
});

Deno.test("ledger: a dropped cache is parked over the waiting batch, and nothing is parked when nothing is pending", () => {
  const ledger = new StoreLedger();
  ledger.park(batch({ a: "waiting", b: "waiting" }));
  const dropped = batch({ a: "dropped" });
  ledger.park(dropped);
  const cache = emptyCache();
  ledger.mergeInto(cache);
  assert.equal(cache.p.values.get("a"), "dropped");
  assert.equal(cache.p.values.get("b"), "waiting");
  ledger.park(emptyCache());
  assert.equal(ledger.waiting(), false);
  assert.equal(hasPending(cache), true);
});
