/**
 * A cached `setMany()` on a subject that has loaded nothing, with no event
 * listener asking for old values, sends no read: its values wait for
 * `store()`, which writes them in one round trip, or for the next load,
 * which puts them over what it read. Every other call sees them in the
 * order it was made, and they are never taken for the whole subject.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import { KRules } from "../../src/subject/krules.ts";
import {
  recording,
  redisFailure,
  startRedisFixture,
} from "../helpers/redis.ts";

const KEY = "s:s";

Deno.test("unloaded setMany: store() is its one round trip, and its values replace what storage held", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send(["HSET", KEY, "pa", '"old"', "pb", "1"]);
  const port = recording(redis.client);
  const subject = new KRules({ storage: createRedisStorage(port) }).subject(
    "s",
  );
  await subject.setMany({ a: "new", c: { x: [1, 2] } });
  await subject.setExtMany({ e: true });
  assert.deepEqual(port.log, []);
  await subject.store();
  assert.deepEqual(port.log.map((args) => args[0]), ["HSET"]);
  assert.deepEqual(await redis.client.send(["HGETALL", KEY]), [
    "pa",
    '"new"',
    "pb",
    "1",
    "pc",
    '{"x":[1,2]}',
    "ee",
    "true",
  ]);
  // Nothing is left to write.
  await subject.store();
  assert.equal(port.log.length, 1);
});

Deno.test("unloaded setMany: a read loads storage and sees the values set over it, which store() then writes", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send(["HSET", KEY, "pa", "1", "pb", "2"]);
  const subject = new KRules({ storage: createRedisStorage(redis.client) })
    .subject("s");
  await subject.setMany({ b: 3, c: 4 });
  assert.equal(await subject.get("a"), 1);
  assert.equal(await subject.get("b"), 3);
  assert.equal(await subject.get("c"), 4);
  await subject.store();
  assert.deepEqual(await redis.client.send(["HGETALL", KEY]), [
    "pa",
    "1",
    "pb",
    "3",
    "pc",
    "4",
  ]);
});

Deno.test("unloaded setMany: changes made after it, awaited or not, go over it in the order they were made", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send(["HSET", KEY, "pn", "100"]);
  const subject = new KRules({ storage: createRedisStorage(redis.client) })
    .subject("s");
  await subject.setMany({ n: 1, m: 1 });
  const increment = subject.set("n", (n) => (n as number) + 1);
  const again = subject.setMany({ m: 5 });
  await subject.store();
  assert.deepEqual(await increment, [2, 1]);
  await again;
  assert.equal(await redis.client.send(["HGET", KEY, "pn"]), "2");
  assert.equal(await redis.client.send(["HGET", KEY, "pm"]), "5");
});

Deno.test("unloaded setMany: a read made before it, still loading, sees what storage held", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send(["HSET", KEY, "pa", "1"]);
  const subject = new KRules({ storage: createRedisStorage(redis.client) })
    .subject("s");
  const before = subject.get("a");
  const set = subject.setMany({ a: 2 });
  assert.equal(await before, 1);
  await set;
  assert.equal(await subject.get("a"), 2);
});

Deno.test("unloaded setMany: a direct write after it wins, and store() does not write the older value over it", async () => {
  await using redis = await startRedisFixture();
  const subject = new KRules({ storage: createRedisStorage(redis.client) })
    .subject("s");
  await subject.setMany({ a: 1, b: 1 });
  await subject.set("a", 2, { useCache: false });
  await subject.store();
  assert.equal(await redis.client.send(["HGET", KEY, "pa"]), "2");
  assert.equal(await redis.client.send(["HGET", KEY, "pb"]), "1");
});

Deno.test("unloaded setMany: a direct write after it that failed but ran is not written over by store()", async () => {
  await using redis = await startRedisFixture();
  // No replica: every write runs, then WAIT confirms none of them.
  const storage = createRedisStorage(redis.client, {
    waitReplicas: 1,
    waitTimeoutMs: 20,
  });
  const subject = new KRules({ storage }).subject("s");
  await subject.setMany({ a: 1 });
  const error = await redisFailure(subject.set("a", 2, { useCache: false }));
  assert.equal(error.executed, "yes");
  // Nothing is left to write: a write would fail here too.
  await subject.store();
  assert.equal(await redis.client.send(["HGET", KEY, "pa"]), "2");
});

Deno.test("unloaded setMany: a store() refused without running keeps the values for the next one, and they never stand in for the whole subject", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send(["HSET", KEY, "pa", "1"]);
  const subject = new KRules({ storage: createRedisStorage(redis.client) })
    .subject("s");
  await subject.setMany({ b: 2 });
  await redis.client.send(["CONFIG", "SET", "maxmemory", 1]);
  const error = await redisFailure(subject.store());
  await redis.client.send(["CONFIG", "SET", "maxmemory", 0]);
  assert.equal(error.executed, "no");
  assert.equal(await subject.get("a"), 1);
  assert.equal(await subject.get("b"), 2);
  await subject.store();
  assert.equal(await redis.client.send(["HGET", KEY, "pb"]), "2");
  assert.equal(await redis.client.send(["HLEN", KEY]), 2);
});

Deno.test("unloaded setMany: with a listener asking for old values it loads, and the events carry them", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send(["HSET", KEY, "pa", "1"]);
  const port = recording(redis.client);
  const krules = new KRules({ storage: createRedisStorage(port) });
  const seen: unknown[] = [];
  krules.eventBus.on("subject-property-changed", ({ payload }) => {
    seen.push([payload.property_name, payload.value, payload.old_value]);
  });
  const subject = krules.subject("s");
  await subject.setMany({ a: 2, b: 3 });
  assert.deepEqual(seen, [["a", 2, 1], ["b", 3, null]]);
  await subject.store();
  assert.deepEqual(port.log.map((args) => args[0]), ["HGETALL", "HSET"]);
});

Deno.test("unloaded setMany: it writes the object's own enumerable properties, each under its name whatever order it names them in, and nothing when one of them is gone by the time it is read", async () => {
  await using redis = await startRedisFixture();
  const krules = new KRules({ storage: createRedisStorage(redis.client) });
  // Integer-like names come first in an object; inherited and non-enumerable
  // properties are not the caller's values.
  const values = Object.create(
    { inherited: "no" },
    { hidden: { value: "no", enumerable: false } },
  );
  Object.assign(values, { b: "B", 2: "two", a: "A", 1: "one" });
  const subject = krules.subject("s");
  await subject.setMany(values);
  await subject.store();
  assert.deepEqual(await redis.client.send(["HGETALL", KEY]), [
    "p1",
    '"one"',
    "p2",
    '"two"',
    "pb",
    '"B"',
    "pa",
    '"A"',
  ]);

  // A getter that deletes a property not read yet: that one reads as
  // undefined, which is refused, and nothing changes.
  const shifty: Record<string, unknown> = { c: 1, d: 2, e: 3 };
  Object.defineProperty(shifty, "c", {
    enumerable: true,
    get() {
      delete shifty.d;
      return 1;
    },
  });
  const other = krules.subject("t");
  await assert.rejects(
    other.setMany(shifty),
    (error: Error) =>
      error.name === "InvalidValueError" && /\bd\b/.test(error.message),
  );
  await other.store();
  assert.equal(await redis.client.send(["EXISTS", "s:t"]), 0);

  // An object that names its properties in another order each time it is
  // asked (a proxy can): each value is still read by its name.
  let asked = 0;
  const fickle = new Proxy({ f: 1, g: 2, h: 3 }, {
    ownKeys: (target) => {
      const names = Reflect.ownKeys(target);
      return asked++ % 2 === 0 ? names : names.reverse();
    },
  });
  await other.setMany(fickle);
  await other.store();
  assert.deepEqual(await redis.client.send(["HGETALL", "s:t"]), [
    "pf",
    "1",
    "pg",
    "2",
    "ph",
    "3",
  ]);
});
