import assert from "node:assert/strict";
import { RedisReplyError } from "../../src/client/errors.ts";
import { CorruptValueError, InvalidValueError } from "../../src/json/errors.ts";
import { ConflictError } from "../../src/storage/errors.ts";
import {
  SubjectExtProperty,
  SubjectProperty,
} from "../../src/storage/property.ts";
import {
  createRedisStorage,
  SubjectsRedisStorage,
} from "../../src/storage/redis/redis_storage.ts";
import type {
  RedisArg,
  RedisReply,
  RedisSender,
} from "../../src/client/types.ts";
import { KRules } from "../../src/subject/krules.ts";
import { registerContracts } from "../contracts/contracts.ts";
import { ODD_NAMES } from "../contracts/storage_contract.ts";
import { recording, startRedisFixture } from "../helpers/redis.ts";

const PREFIX = "test:";
const p = (name: string, value?: unknown) => new SubjectProperty(name, value);
const e = (name: string, value?: unknown) =>
  new SubjectExtProperty(name, value);

registerContracts("redis", async () => {
  const fixture = await startRedisFixture();
  return {
    storage: createRedisStorage(fixture.client, { keyPrefix: PREFIX }),
    persistent: true,
    reopen: async () =>
      createRedisStorage(await fixture.connect(), { keyPrefix: PREFIX }),
    [Symbol.asyncDispose]: () => fixture[Symbol.asyncDispose](),
  };
});

Deno.test("redis: the hash layout is the Python one: s:{prefix}{subject}, p/e fields, JSON text", async () => {
  await using redis = await startRedisFixture();
  const krules = new KRules({
    storage: createRedisStorage(redis.client, { keyPrefix: "myapp:" }),
  });
  const user = krules.subject("user-123");
  await user.set("name", "John Doe");
  await user.set("email", "john@example.com");
  await user.set("age", 30);
  await user.setExt("lastlogin", "2024-01-01T12:00:00");
  await user.store();
  assert.deepEqual(await redis.client.send(["KEYS", "*"]), [
    "s:myapp:user-123",
  ]);
  const raw = await redis.client.send([
    "HGETALL",
    "s:myapp:user-123",
  ]) as string[];
  const fields = Object.fromEntries(
    Array.from(
      { length: raw.length / 2 },
      (_, i) => [raw[2 * i], raw[2 * i + 1]],
    ),
  );
  assert.deepEqual(fields, {
    pname: '"John Doe"',
    pemail: '"john@example.com"',
    page: "30",
    elastlogin: '"2024-01-01T12:00:00"',
  });
  assert.equal(
    new SubjectsRedisStorage("user-123", redis.client, { keyPrefix: "myapp:" })
      .key,
    "s:myapp:user-123",
  );
  assert.equal(
    new SubjectsRedisStorage("user-123", redis.client).key,
    "s:user-123",
    "the default prefix is empty, as in Python",
  );
});

Deno.test("redis: odd subject names map to exactly s:{prefix}{name}", async () => {
  await using redis = await startRedisFixture();
  const factory = createRedisStorage(redis.client, { keyPrefix: PREFIX });
  for (const name of ODD_NAMES) {
    await factory(name).set(p("a", 1));
    assert.equal(await redis.client.send(["EXISTS", `s:${PREFIX}${name}`]), 1);
    assert.equal(
      await redis.client.send(["HGET", `s:${PREFIX}${name}`, "pa"]),
      "1",
    );
  }
  assert.equal(await redis.client.send(["DBSIZE"]), ODD_NAMES.length);
});

Deno.test("redis: key prefixes isolate subjects of the same name", async () => {
  await using redis = await startRedisFixture();
  const storage1 = createRedisStorage(redis.client, { keyPrefix: PREFIX })(
    "shared-name",
  );
  const storage2 = new SubjectsRedisStorage("shared-name", redis.client, {
    keyPrefix: "other:",
  });
  await storage1.store({ inserts: [p("name", "Storage1")] });
  assert.deepEqual(await storage2.load(), [{}, {}]);
  await storage2.store({ inserts: [p("name", "Storage2")] });
  assert.deepEqual((await storage1.load())[0], { name: "Storage1" });
  assert.deepEqual((await storage2.load())[0], { name: "Storage2" });
  await storage2.flush();
  assert.deepEqual((await storage1.load())[0], { name: "Storage1" });
});

Deno.test("redis: store is one round trip, and an empty store is none", async () => {
  await using redis = await startRedisFixture();
  const port = recording(redis.client);
  const storage = createRedisStorage(port)("s");
  // Sets and deletes together take the script; this loads it once.
  await storage.store({ inserts: [p("warm", 0)], deletes: [p("none")] });
  port.log.length = 0;
  await storage.store({
    inserts: Array.from({ length: 100 }, (_, i) => p(`f${i}`, i)),
    updates: [p("warm", 1), e("x", "y")],
    deletes: [p("nothing")],
  });
  assert.equal(port.log.length, 1);
  assert.equal(port.log[0][0], "EVALSHA");
  port.log.length = 0;
  await storage.store();
  await storage.store({ inserts: [], updates: [], deletes: [] });
  assert.equal(port.log.length, 0);
  assert.equal(Object.keys((await storage.load())[0]).length, 101);
  // Sets alone are one plain HSET, deletes alone one HDEL: atomic by themselves.
  port.log.length = 0;
  await storage.store({ inserts: [p("only", 1)], updates: [p("warm", 2)] });
  await storage.store({ deletes: [p("only"), p("f1")] });
  assert.deepEqual(port.log, [
    ["HSET", "s:s", "ponly", "1", "pwarm", "2"],
    ["HDEL", "s:s", "ponly", "pf1"],
  ]);
});

Deno.test("redis: a cached subject's 100 sets and store() cost one load and one write", async () => {
  await using redis = await startRedisFixture();
  const port = recording(redis.client);
  const subject = new KRules({ storage: createRedisStorage(port) }).subject(
    "s",
  );
  await createRedisStorage(redis.client)("warm").store({
    inserts: [p("a", 1)],
  });
  for (let i = 0; i < 100; i++) await subject.set(`field${i}`, i);
  await subject.store();
  assert.deepEqual(port.log.map((args) => args[0]), ["HGETALL", "HSET"]);
});

Deno.test("redis: a first cached setMany() that needs old values sends its load before it checks its values, and a bad value still changes nothing", async () => {
  await using redis = await startRedisFixture();
  const port = recording(redis.client);
  const krules = new KRules({ storage: createRedisStorage(port) });
  // A listener of changes wants the old values: the load is needed.
  krules.eventBus.on("subject-property-changed", () => {});
  // The getters run while the values are checked.
  const loadedWhenChecked: boolean[] = [];
  const values = (b: unknown) => ({
    get a() {
      loadedWhenChecked.push(port.log.some((args) => args[0] === "HGETALL"));
      return 1;
    },
    b,
  });
  await krules.subject("s").setMany(values(2));
  await assert.rejects(
    krules.subject("t").setMany(values(() => 3)),
    InvalidValueError,
  );
  assert.deepEqual(loadedWhenChecked, [true, true]);
  const t = krules.subject("t");
  await t.store();
  assert.equal(await t.has("a"), false);
  assert.equal(await redis.client.send(["EXISTS", "s:t"]), 0);
});

Deno.test("redis: plain set, get and delete are one round trip each", async () => {
  await using redis = await startRedisFixture();
  const port = recording(redis.client);
  const storage = createRedisStorage(port)("s");
  await storage.set(p("warm", 0));
  port.log.length = 0;
  assert.deepEqual(await storage.set(p("a", 1)), [1, undefined]);
  assert.equal(port.log.length, 1);
  assert.equal(await storage.get(p("a")), 1);
  assert.equal(port.log.length, 2);
  await storage.delete(p("a"));
  assert.equal(port.log.length, 3);
});

Deno.test("redis: every command names exactly one key, so every operation works on Redis Cluster", async () => {
  await using redis = await startRedisFixture();
  const port = recording(redis.client);
  const krules = new KRules({
    storage: createRedisStorage(port, { keyPrefix: PREFIX }),
  });
  const subject = krules.subject("s");
  await subject.set("a", 1);
  await subject.setExt("b", 2);
  await subject.store();
  await subject.set("a", (n: number) => n + 1, { useCache: false });
  await subject.set("c", 3, { useCache: false });
  await subject.get("a", { useCache: false });
  await subject.delete("c", { useCache: false });
  await subject.getExtProps();
  await krules.subject("s").flush();
  const key = `s:${PREFIX}s`;
  const singleKey = new Set(["HGETALL", "HGET", "HSET", "HDEL", "DEL"]);
  for (const args of port.log) {
    const command = String(args[0]);
    if (command === "EVALSHA" || command === "EVAL") {
      assert.equal(args[2], 1, `${command} declares one key`);
      assert.equal(args[3], key);
      const source = command === "EVAL" ? String(args[1]) : "";
      assert.doesNotMatch(source, /KEYS\[[2-9]/);
    } else {
      assert.ok(singleKey.has(command), `unexpected command ${command}`);
      assert.equal(args[1], key);
    }
  }
  assert.ok(port.log.length >= 8);
});

Deno.test("redis: scripts keep working after the server's script cache is flushed (NOSCRIPT falls back to EVAL)", async () => {
  await using redis = await startRedisFixture();
  const port = recording(redis.client);
  const storage = createRedisStorage(port)("s");
  await storage.store({ inserts: [p("n", 0)], deletes: [p("gone")] });
  await storage.set(p("n", (n: number) => n + 1));
  await storage.set(p("m", 1));
  for (let round = 0; round < 2; round++) {
    assert.equal(await redis.client.send(["SCRIPT", "FLUSH"]), "OK");
    port.log.length = 0;
    await storage.store({ inserts: [p("x", round)], deletes: [p("gone")] });
    assert.deepEqual(await storage.set(p("n", (n: number) => n + 1)), [
      round + 2,
      round + 1,
    ]);
    assert.deepEqual(await storage.set(p("m", round + 2)), [
      round + 2,
      round + 1,
    ]);
    const commands = port.log.map((args) => args[0]);
    assert.deepEqual(
      commands.filter((c) => c === "EVAL").length,
      3,
      `each script fell back once: ${commands.join(" ")}`,
    );
  }
  assert.deepEqual(await storage.load(), [{ n: 3, m: 3, x: 1 }, {}]);
});

Deno.test("redis: compare-and-set retries when another writer got in between, and reports the value it replaced", async () => {
  await using redis = await startRedisFixture();
  const other = await redis.connect();
  let interferences = 2;
  const port = recording(redis.client, async (args) => {
    if (String(args[0]).startsWith("EVAL") && interferences > 0) {
      interferences--;
      await other.send(["HINCRBY", "s:s", "pn", 100]);
    }
  });
  const storage = createRedisStorage(port)("s");
  await createRedisStorage(redis.client)("s").set(p("n", 0));
  assert.deepEqual(await storage.set(p("n", (n: number) => n + 1)), [201, 200]);
  assert.equal(await storage.get(p("n")), 201);
});

Deno.test("redis: compare-and-set gives up with ConflictError after maxCasAttempts, writing nothing", async () => {
  await using redis = await startRedisFixture();
  // Each attempt below is exactly one script call (EVAL first, then EVALSHA).
  await createRedisStorage(redis.client)("warm").set(p("n", () => 1));
  const other = await redis.connect();
  let writes = 0;
  const port = recording(redis.client, async (args) => {
    if (String(args[0]).startsWith("EVAL")) {
      writes++;
      await other.send(["HSET", "s:s", "pn", String(writes * 1000)]);
    }
  });
  const storage = createRedisStorage(port, { maxCasAttempts: 3 })("s");
  let calls = 0;
  await assert.rejects(
    storage.set(p("n", (n: unknown) => {
      calls++;
      return Number(n ?? 0) + 1;
    })),
    (error) => {
      assert.ok(error instanceof ConflictError);
      assert.equal(error.attempts, 3);
      assert.equal(error.key, "s:s");
      assert.equal(error.property, "n");
      assert.match(error.message, /maxCasAttempts/);
      return true;
    },
  );
  assert.equal(calls, 3);
  assert.equal(await redis.client.send(["HGET", "s:s", "pn"]), "3000");
});

Deno.test("redis: cached function sets cost no extra round trip: store() is one script call when nothing conflicts, one more per conflict", async () => {
  await using redis = await startRedisFixture();
  const other = await redis.connect();
  let interfere = false;
  const port = recording(redis.client, async (args) => {
    if (interfere && String(args[0]).startsWith("EVAL")) {
      interfere = false;
      await other.send(["HINCRBY", "s:s", "pn", 100]);
    }
  });
  const krules = new KRules({ storage: createRedisStorage(port) });
  await createRedisStorage(redis.client)("s").store({ inserts: [p("n", 1)] });
  for (const conflict of [false, false, true]) {
    const subject = krules.subject("s");
    await subject.set("n", (n) => (n as number) + 1);
    await subject.set("plain", conflict);
    port.log.length = 0;
    interfere = conflict;
    await subject.store();
    assert.deepEqual(
      port.log.map((args) => args[0]),
      conflict ? ["EVALSHA", "EVALSHA"] : [port.log[0][0]],
    );
    assert.match(String(port.log[0][0]), /^EVAL/);
  }
  assert.equal(await redis.client.send(["HGET", "s:s", "pn"]), "104");
});

Deno.test("redis: a cached function set that loses every race fails store() with ConflictError after maxCasAttempts, writing nothing, and the next store() applies it again", async () => {
  await using redis = await startRedisFixture();
  const other = await redis.connect();
  let writes = 0;
  let interfering = true;
  const port = recording(redis.client, async (args) => {
    if (interfering && String(args[0]).startsWith("EVAL")) {
      writes++;
      await other.send(["HSET", "s:s", "pn", String(writes * 1000)]);
    }
  });
  const subject = new KRules({
    storage: createRedisStorage(port, { maxCasAttempts: 3 }),
  }).subject("s");
  await subject.set("n", (n) => ((n as number) ?? 0) + 1);
  await subject.set("plain", 1);
  await assert.rejects(subject.store(), (error) => {
    assert.ok(error instanceof ConflictError);
    assert.equal(error.attempts, 3);
    assert.equal(error.property, "n");
    return true;
  });
  assert.deepEqual(await redis.client.send(["HGETALL", "s:s"]), [
    "pn",
    "3000",
  ]);
  interfering = false;
  await subject.store();
  assert.deepEqual(await redis.client.send(["HGETALL", "s:s"]), [
    "pn",
    "3001",
    "pplain",
    "1",
  ]);
});

Deno.test("redis: a cached function set is compared with the bytes it read, so Python's spacing is no conflict", async () => {
  await using redis = await startRedisFixture();
  // As Python's json.dumps writes it: with spaces, unlike JSON.stringify.
  await redis.client.send(["HSET", "s:s", "pv", '{"a": [1, 2]}']);
  const port = recording(redis.client);
  const subject = new KRules({ storage: createRedisStorage(port) }).subject(
    "s",
  );
  await subject.set("v", (v) => ({ ...(v as object), b: 3 }));
  port.log.length = 0;
  await subject.store();
  assert.equal(port.log.length, 1);
  assert.equal(
    await redis.client.send(["HGET", "s:s", "pv"]),
    '{"a":[1,2],"b":3}',
  );
});

Deno.test("redis: a function set on a field holding invalid UTF-8 fails fast with CorruptValueError", async () => {
  await using redis = await startRedisFixture();
  // `"\xff"`: decodes to valid-looking JSON text, but the bytes can never match it.
  await redis.client.send([
    "HSET",
    "s:s",
    "pbad",
    new Uint8Array([0x22, 0xff, 0x22]),
  ]);
  const storage = createRedisStorage(redis.client)("s");
  await assert.rejects(
    storage.set(p("bad", (old: unknown) => `${old}!`)),
    CorruptValueError,
  );
  assert.equal(await redis.client.send(["HSTRLEN", "s:s", "pbad"]), 3);
});

Deno.test("redis: a plain set over a corrupt value repairs it and resolves, reporting the old value as absent", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send(["HSET", "s:s", "pbad", "{not json", "pok", "1"]);
  const storage = createRedisStorage(redis.client)("s");
  // Reads of the corrupt field reject, and change nothing.
  await assert.rejects(storage.get(p("bad")), CorruptValueError);
  await assert.rejects(
    storage.set(p("bad", (old: unknown) => [old])),
    CorruptValueError,
  );
  assert.equal(await redis.client.send(["HGET", "s:s", "pbad"]), "{not json");
  // A plain set needs no old value to write: it replaces the corrupt one.
  assert.deepEqual(await storage.set(p("bad", "fixed"), "none"), [
    "fixed",
    "none",
  ]);
  assert.deepEqual(await storage.load(), [{ bad: "fixed", ok: 1 }, {}]);
});

Deno.test("redis: setMany over corrupt fields repairs them, reporting their old values as absent", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send(["HSET", "s:s", "pbad", "{not json", "pok", "1"]);
  await redis.client.send(["HSET", "s:s", "platin", LATIN1_JSON]);
  const storage = createRedisStorage(redis.client)("s");
  assert.deepEqual(
    await storage.setMany!([p("bad", "fixed"), p("latin", "café"), p("ok", 2)]),
    [undefined, undefined, 1],
  );
  assert.deepEqual(await storage.load(), [
    { bad: "fixed", latin: "café", ok: 2 },
    {},
  ]);
});

/** `"caf\xe9"` as JSON text: Latin-1 bytes, not UTF-8. */
const LATIN1_JSON = new Uint8Array([0x22, 0x63, 0x61, 0x66, 0xe9, 0x22]);

Deno.test("redis: hash fields without a p or e prefix are left alone", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send(["HSET", "s:s", "xforeign", "not json", "pa", "1"]);
  const storage = createRedisStorage(redis.client)("s");
  assert.deepEqual(await storage.load(), [{ a: 1 }, {}]);
  await storage.store({ updates: [p("a", 2)] });
  assert.equal(
    await redis.client.send(["HGET", "s:s", "xforeign"]),
    "not json",
  );
});

Deno.test("redis: subject.store() that fails keeps its changes for a retry", async () => {
  await using redis = await startRedisFixture();
  const subject = new KRules({ storage: createRedisStorage(redis.client) })
    .subject("s");
  await subject.set("a", 1);
  await redis.client.send(["SET", "s:s", "a string"]);
  await assert.rejects(subject.store(), { code: "WRONGTYPE" });
  await redis.client.send(["DEL", "s:s"]);
  await subject.store();
  assert.equal(await redis.client.send(["HGET", "s:s", "pa"]), "1");
});

Deno.test("redis: createRedisStorage rejects a client without send and bad options at once", async () => {
  await using redis = await startRedisFixture();
  assert.throws(
    () => createRedisStorage({} as never),
    /send\(args\)/,
  );
  assert.throws(
    () => createRedisStorage(redis.client, { maxCasAttempts: 0 }),
    RangeError,
  );
  assert.throws(
    () => createRedisStorage(redis.client, { keyPrefix: 5 as never }),
    TypeError,
  );
});

Deno.test("redis: a subject decodes a property when it is read, so a corrupt field fails only the reads that reach it", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send([
    "HSET",
    "s:lazy:s",
    "pgood",
    '{"n": 1}',
    "pbroken",
    "{not json",
    "eext",
    '"x"',
  ]);
  const port = recording(redis.client);
  const subject = new KRules({
    storage: createRedisStorage(port, { keyPrefix: "lazy:" }),
  }).subject("s");
  assert.deepEqual(await subject.get("good"), { n: 1 });
  assert.equal(await subject.has("broken"), true);
  assert.deepEqual(await subject.keys(), ["good", "broken"]);
  assert.equal(await subject.getExt("ext"), "x");
  await assert.rejects(subject.get("broken"), (error) => {
    assert.ok(error instanceof CorruptValueError);
    assert.equal(error.field, "pbroken");
    return true;
  });
  await assert.rejects(subject.dict(), CorruptValueError);
  // A cached set reports the old value, so it cannot replace a corrupt one:
  // it rejects and changes nothing.
  await assert.rejects(subject.set("broken", 2), CorruptValueError);
  await subject.store();
  // One load served every read above, and the store had nothing to write.
  assert.deepEqual(port.log.map((args) => args[0]), ["HGETALL"]);
  assert.equal(
    await redis.client.send(["HGET", "s:lazy:s", "pbroken"]),
    "{not json",
  );
});

Deno.test("redis: an error reply from the storage names the subject's key", async () => {
  await using redis = await startRedisFixture();
  await redis.client.send(["SET", "s:test:wrong", "a string, not a hash"]);
  const storage = createRedisStorage(redis.client, { keyPrefix: PREFIX });
  const subject = new KRules({ storage }).subject("wrong");
  const calls: [string, () => Promise<unknown>][] = [
    ["load", () => storage("wrong").load()],
    ["get", () => storage("wrong").get(p("a"))],
    ["store", () => storage("wrong").store({ inserts: [p("a", 1)] })],
    ["set", () => storage("wrong").set(p("a", 1))],
    ["function set", () => storage("wrong").set(p("a", (n: unknown) => n))],
    ["setMany", () => storage("wrong").setMany!([p("a", 1)])],
    ["subject.get", () => subject.get("a")],
  ];
  for (const [name, call] of calls) {
    await assert.rejects(call(), (error) => {
      assert.ok(error instanceof RedisReplyError, name);
      assert.equal(error.code, "WRONGTYPE", name);
      assert.match(error.message, /subject key "s:test:wrong"/, name);
      assert.ok(error.cause instanceof RedisReplyError, name);
      return true;
    });
  }
});

Deno.test("redis: subjectNames escapes glob characters in the key prefix, and lists only its own subjects", async () => {
  await using redis = await startRedisFixture();
  // "a*[x]:" unescaped would also match the keys under "abc[x]:" and "ax:".
  const globby = createRedisStorage(redis.client, { keyPrefix: "a*[x]:" });
  for (const keyPrefix of ["a*[x]:", "abc[x]:", "ax:", ""]) {
    const krules = new KRules({
      storage: createRedisStorage(redis.client, { keyPrefix }),
    });
    await krules.subject(`in-${keyPrefix}`).set("n", 1, { useCache: false });
  }
  await redis.client.send(["SET", "s:a*[x]:not-a-hash", "1"]);
  const names: string[] = [];
  for await (const name of new KRules({ storage: globby }).subjectNames()) {
    names.push(name);
  }
  assert.deepEqual(names, ["in-a*[x]:"]);
});

/** How many `CLUSTER SLOTS` the server has received (run or refused). */
async function clusterSlotsCalls(client: RedisSender): Promise<number> {
  const info = String(await client.send(["INFO", "commandstats"]));
  const line = info.split("\r\n").find((l) =>
    l.startsWith("cmdstat_cluster|slots:")
  );
  if (line === undefined) return 0;
  const stat = (name: string) => Number(line.match(`${name}=(\\d+)`)?.[1] ?? 0);
  return stat("calls") + stat("rejected_calls");
}

Deno.test("redis: subjectNames on a standalone server learns once per client that it is no cluster, so later calls send no CLUSTER SLOTS", async () => {
  await using redis = await startRedisFixture();
  const observer = await redis.connect();
  const client = await redis.connect();
  const krules = new KRules({
    storage: createRedisStorage(client, { keyPrefix: PREFIX }),
  });
  await krules.subject("user-1").set("n", 1, { useCache: false });
  const before = await clusterSlotsCalls(observer);
  const list = async (k: KRules) => {
    const names: string[] = [];
    for await (const name of k.subjectNames()) names.push(name);
    assert.deepEqual(names, ["user-1"]);
  };
  for (let i = 0; i < 5; i++) await list(krules);
  // A second storage factory on the same client knows it too.
  const again = new KRules({
    storage: createRedisStorage(client, { keyPrefix: PREFIX }),
  });
  for (let i = 0; i < 3; i++) await list(again);
  assert.equal(await clusterSlotsCalls(observer) - before, 1);
  // Another client asks for itself, once.
  const other = new KRules({
    storage: createRedisStorage(await redis.connect(), { keyPrefix: PREFIX }),
  });
  for (let i = 0; i < 3; i++) await list(other);
  assert.equal(await clusterSlotsCalls(observer) - before, 2);
});

Deno.test("redis: compare-and-set retries after repeated conflicts wait a random part of a doubling bound, so contending writers fall out of step", async () => {
  await using redis = await startRedisFixture();
  const other = await redis.connect();
  const TRIALS = 40;
  const ATTEMPTS = 8;
  // Conflicts 1, 3, 5 and 7 are retried at once; 2, 4 and 6 wait, with
  // bounds 8, 16 and 32 ms. The first and last waits are the ones measured.
  const WAIT_AFTER = [2, 4, 6];
  const LAST_BOUND = 32;
  let writes = 0;
  let lastReply = 0;
  let gaps: number[] = [];
  let reads = 0;
  // Another writer changes the field just before every compare-and-set, so
  // every attempt conflicts; a gap is from a conflict's reply to the next
  // compare-and-set.
  const port: RedisSender = {
    async send(args: readonly RedisArg[]): Promise<RedisReply> {
      const command = String(args[0]);
      if (command === "HGET") reads++;
      if (command.startsWith("EVAL")) {
        if (lastReply > 0) gaps.push(performance.now() - lastReply);
        await other.send(["HSET", "s:s", "pn", String(++writes)]);
      }
      const reply = await redis.client.send(args);
      if (command.startsWith("EVAL")) lastReply = performance.now();
      return reply;
    },
  };
  const storage = createRedisStorage(port, { maxCasAttempts: ATTEMPTS })("s");
  const firstWaits: number[] = [];
  const lastWaits: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    gaps = [];
    lastReply = 0;
    reads = 0;
    const before = writes;
    await assert.rejects(
      storage.set(p("n", (n: unknown) => Number(n ?? 0) + 1)),
      ConflictError,
    );
    assert.equal(writes - before, ATTEMPTS, "one compare-and-set per attempt");
    // Every retry goes on the value the last conflict returned: one read in
    // the first trial, and none after, where the first compare-and-set goes
    // on the value the previous trial's last conflict returned.
    assert.equal(reads, trial === 0 ? 1 : 0);
    assert.equal(gaps.length, ATTEMPTS - 1);
    firstWaits.push(gaps[WAIT_AFTER[0] - 1]);
    lastWaits.push(gaps[WAIT_AFTER.at(-1)! - 1]);
  }
  const sorted = (list: number[]) => list.sort((a, b) => a - b);
  const [first, last] = [sorted(firstWaits), sorted(lastWaits)];
  const quartile = (list: number[], q: number) =>
    list[Math.round(q * (list.length - 1))];
  const summary = last.map((ms) => ms.toFixed(1)).join(", ");
  // Without jitter every wait would be the whole bound: none short.
  assert.ok(last[0] < 0.6 * LAST_BOUND, `no short wait: ${summary}`);
  // With a fixed wait they would bunch (timer noise aside).
  assert.ok(
    quartile(last, 0.75) - quartile(last, 0.25) > LAST_BOUND / 5,
    `the waits do not spread: ${summary}`,
  );
  // And the bound grows: medians of about 16 ms against about 4 ms.
  assert.ok(
    quartile(last, 0.5) - quartile(first, 0.5) > LAST_BOUND / 8,
    `the waits do not grow: ${first.join(", ")} then ${summary}`,
  );
});

Deno.test("redis: after a backoff wait the compare-and-set goes on the value the last conflict returned, with no read: a field that went quiet is won in that one round trip", async () => {
  await using redis = await startRedisFixture();
  const other = await redis.connect();
  await createRedisStorage(redis.client)("s").set(p("n", 0));
  // Another writer gets in before the first two compare-and-sets only: the
  // first conflict retries at once, the second waits, then the field is quiet.
  let interferences = 2;
  const port = recording(redis.client, async (args) => {
    if (String(args[0]).startsWith("EVAL") && interferences > 0) {
      interferences--;
      await other.send(["HINCRBY", "s:s", "pn", 100]);
    }
  });
  const storage = createRedisStorage(port)("s");
  assert.deepEqual(await storage.set(p("n", (n: number) => n + 1)), [201, 200]);
  const commands = port.log.map((args) => String(args[0]));
  assert.deepEqual(
    commands.map((c) => c.startsWith("EVAL") ? "CAS" : c),
    ["HGET", "CAS", "CAS", "CAS"],
  );
  assert.equal(await redis.client.send(["HGET", "s:s", "pn"]), "201");
});

Deno.test("redis: a function set after the last one settled goes straight to a compare-and-set on the value it left: one round trip while no one else writes, and a stale guess costs no more than a read", async () => {
  await using redis = await startRedisFixture();
  const other = await redis.connect();
  const port = recording(redis.client);
  const storage = createRedisStorage(port)("s");
  const increment = (n: unknown) => Number(n ?? 0) + 1;
  const kinds = () =>
    port.log.splice(0).map((a) =>
      String(a[0]).startsWith("EVAL") ? "CAS" : String(a[0])
    );
  assert.deepEqual(await storage.set(p("n", increment)), [1, undefined]);
  assert.deepEqual(kinds(), ["HGET", "CAS"]);
  for (let i = 2; i <= 5; i++) {
    assert.deepEqual(await storage.set(p("n", increment)), [i, i - 1]);
    assert.deepEqual(kinds(), ["CAS"], `increment ${i}`);
  }
  // Another writer moves the field: the guess conflicts, and its reply is
  // the read the next attempt goes on.
  await other.send(["HSET", "s:s", "pn", "100"]);
  assert.deepEqual(await storage.set(p("n", increment)), [101, 100]);
  assert.deepEqual(kinds(), ["CAS", "CAS"]);
  // Deleted meanwhile: the conflict returns the absence.
  await other.send(["DEL", "s:s"]);
  assert.deepEqual(await storage.set(p("n", increment)), [1, undefined]);
  assert.deepEqual(kinds(), ["CAS", "CAS"]);
  assert.equal(await redis.client.send(["HGET", "s:s", "pn"]), "1");
});

Deno.test("redis: an update that throws on the value seen before a backoff wait is run again on a fresh read, not failed on the old value", async () => {
  await using redis = await startRedisFixture();
  const other = await redis.connect();
  await createRedisStorage(redis.client)("s").set(p("n", 0));
  // The first two compare-and-sets conflict (a wait follows the second), and
  // the second's reply is already out of date: the field moved to 201 after
  // the script saw 200.
  let evals = 0;
  const port: RedisSender = {
    async send(args: readonly RedisArg[]): Promise<RedisReply> {
      const isCas = String(args[0]).startsWith("EVAL");
      if (isCas && ++evals <= 2) {
        await other.send(["HINCRBY", "s:s", "pn", 100]);
      }
      const reply = await redis.client.send(args);
      if (isCas && evals === 2) await other.send(["HSET", "s:s", "pn", "201"]);
      return reply;
    },
  };
  const storage = createRedisStorage(port)("s");
  const seen: unknown[] = [];
  const result = await storage.set(p("n", (n: number) => {
    seen.push(n);
    if (n === 200) throw new RangeError("200 is refused");
    return n + 1;
  }));
  assert.deepEqual(result, [202, 201]);
  assert.deepEqual(seen, [0, 100, 200, 201]);
  assert.equal(await redis.client.send(["HGET", "s:s", "pn"]), "202");
});

Deno.test("redis: function sets of one field queued while a compare-and-set is in flight go in the next one, on the value just written, with no read", async () => {
  await using redis = await startRedisFixture();
  const WAVES = 5;
  const PER_WAVE = 20;
  const pending: Promise<[unknown, unknown]>[] = [];
  let waves = 0;
  // Each compare-and-set, as it leaves, queues the next wave of increments.
  const port = recording(redis.client, (args) => {
    if (String(args[0]).startsWith("EVAL") && waves < WAVES - 1) {
      waves++;
      for (let i = 0; i < PER_WAVE; i++) {
        pending.push(storage.set(p("n", (n: unknown) => Number(n ?? 0) + 1)));
      }
    }
  });
  const storage = createRedisStorage(port)("s");
  for (let i = 0; i < PER_WAVE; i++) {
    pending.push(storage.set(p("n", (n: unknown) => Number(n ?? 0) + 1)));
  }
  // The array grows while the earlier waves run: each wave is queued before
  // the one in flight settles.
  const results: [unknown, unknown][] = [];
  for (let i = 0; i < pending.length; i++) results.push(await pending[i]);
  assert.equal(results.length, WAVES * PER_WAVE);
  // Exactly once each: the old values are 0..99, each new = old + 1.
  const olds = results.map(([, old]) => Number(old ?? 0)).sort((a, b) => a - b);
  assert.deepEqual(olds, Array.from({ length: WAVES * PER_WAVE }, (_, i) => i));
  for (const [value, old] of results) assert.equal(value, Number(old ?? 0) + 1);
  assert.equal(await redis.client.send(["HGET", "s:s", "pn"]), "100");
  const commands = port.log.map((args) => String(args[0]));
  assert.deepEqual(
    commands.map((c) => c.startsWith("EVAL") ? "CAS" : c),
    ["HGET", ...Array(WAVES).fill("CAS")],
  );
});
