/**
 * Redis does not roll back a Lua script that fails part way: what it wrote
 * before the failing command stays. The storage's scripts therefore never
 * fail after their first write. Every way a write can be refused is met
 * before the first one (ACL checked up front, `OOM` only denied before a
 * script's first write, `WRONGTYPE` on the one key at its first command), so
 * a refused script wrote nothing and says `executed: "no"`; and an error that
 * does come after a write is reported `executed: "maybe"`, never "no".
 * Against a real redis-server with ACL users.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  type RedisClient,
} from "../../src/client/client.ts";
import { RedisReplyError } from "../../src/client/errors.ts";
import { SubjectProperty } from "../../src/storage/property.ts";
import {
  createRedisStorage,
  SubjectsRedisStorage,
} from "../../src/storage/redis/redis_storage.ts";
import {
  LuaScript,
  runScript,
  SCRIPT_WRITES,
} from "../../src/storage/redis/scripts.ts";
import { KRules } from "../../src/subject/krules.ts";
import { recording, startRedisFixture } from "../helpers/redis.ts";
import type { SubjectStorage } from "../../src/storage/types.ts";

const KEY = "s:s";

/** Rejects with `promise`'s error, which must be a RedisReplyError, and returns it. */
async function replyError(promise: Promise<unknown>): Promise<RedisReplyError> {
  const error = await promise.then(
    () => assert.fail("expected the call to be refused"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof RedisReplyError, String(error));
  return error;
}

/** A connection as a fresh ACL user with exactly the given command rules. */
async function asUser(
  admin: RedisClient,
  url: string,
  name: string,
  rules: string[],
): Promise<RedisClient> {
  await admin.send([
    "ACL",
    "SETUSER",
    name,
    "reset",
    "on",
    ">pw",
    "~*",
    ...rules,
  ]);
  return await createRedisClient(
    url.replace("redis://", `redis://${name}:pw@`),
  );
}

/** Calls of `command` the server ran since the last `CONFIG RESETSTAT` (scripts' included). */
async function calls(admin: RedisClient, command: string): Promise<number> {
  const info = String(await admin.send(["INFO", "commandstats"]));
  const match = info.match(new RegExp(`cmdstat_${command}:calls=(\\d+)`));
  return match === null ? 0 : Number(match[1]);
}

const STORE_RULES = [
  "-@all",
  "+ping",
  "+hgetall",
  "+hget",
  "+hset",
  "+eval",
  "+evalsha",
];

Deno.test("a store script run by a user who may HSET but not HDEL writes nothing and is refused NOPERM, executed no", async () => {
  await using fixture = await startRedisFixture();
  const admin = fixture.client;
  await admin.send(["HSET", KEY, "pb", "1", "pc", "2"]);
  const client = await asUser(admin, fixture.server.url, "nodel", STORE_RULES);
  try {
    const storage = new SubjectsRedisStorage("s", client);
    const error = await replyError(storage.store({
      inserts: [new SubjectProperty("a", 1)],
      deletes: [new SubjectProperty("b")],
    }));
    assert.deepEqual(await admin.send(["HGETALL", KEY]), [
      "pb",
      "1",
      "pc",
      "2",
    ]);
    assert.equal(error.code, "NOPERM", error.message);
    assert.equal(error.executed, "no");
    assert.match(error.message, /HDEL/);
    // The same through the conditioned path (a cached function set).
    const checked = await replyError(storage.store({
      updates: [new SubjectProperty("c", 3)],
      deletes: [new SubjectProperty("b")],
      conditions: [{
        prop: new SubjectProperty("c"),
        expected: "2",
        update: (n) => Number(n) + 1,
      }],
    }));
    assert.equal(checked.code, "NOPERM", checked.message);
    assert.equal(checked.executed, "no");
    assert.deepEqual(await admin.send(["HGETALL", KEY]), [
      "pb",
      "1",
      "pc",
      "2",
    ]);
  } finally {
    await client.close();
  }
});

Deno.test("a store too big for one HSET (several chunks) by a user without HDEL writes nothing", async () => {
  await using fixture = await startRedisFixture();
  const admin = fixture.client;
  await admin.send(["HSET", KEY, "pgone", "1"]);
  const client = await asUser(admin, fixture.server.url, "nodel", STORE_RULES);
  try {
    const storage = new SubjectsRedisStorage("s", client);
    const inserts = Array.from(
      { length: 9000 },
      (_, i) => new SubjectProperty(`f${i}`, i),
    );
    const error = await replyError(storage.store({
      inserts,
      deletes: [new SubjectProperty("gone")],
    }));
    assert.equal(await admin.send(["HLEN", KEY]), 1);
    assert.equal(error.code, "NOPERM");
    assert.equal(error.executed, "no");
  } finally {
    await client.close();
  }
});

Deno.test("a Subject's store() refused for want of HDEL wrote nothing; once HDEL is granted, the next store() writes the batch exactly once", async () => {
  await using fixture = await startRedisFixture();
  const admin = fixture.client;
  await admin.send(["HSET", KEY, "pb", "1"]);
  const client = await asUser(admin, fixture.server.url, "nodel", STORE_RULES);
  try {
    const subject = new KRules({ storage: createRedisStorage(client) })
      .subject<{ a: number; b: number; n: number }>("s");
    await subject.set("a", 1);
    await subject.set("n", (n) => (n ?? 0) + 1);
    await subject.delete("b");
    const error = await replyError(subject.store());
    assert.equal(error.code, "NOPERM", error.message);
    assert.equal(error.executed, "no");
    assert.deepEqual(await admin.send(["HGETALL", KEY]), ["pb", "1"]);
    // The batch is merged back into the cache, not lost and not doubled.
    assert.equal(await subject.get("a"), 1);
    assert.equal(await subject.get("n"), 1);
    await admin.send(["ACL", "SETUSER", "nodel", "+hdel"]);
    await admin.send(["CONFIG", "RESETSTAT"]);
    await subject.store();
    assert.deepEqual(
      await admin.send(["HGETALL", KEY]),
      ["pa", "1", "pn", "1"],
    );
    assert.equal(await calls(admin, "hset"), 1);
    assert.equal(await calls(admin, "hdel"), 1);
    await subject.store();
    assert.equal(await calls(admin, "hset"), 1);
  } finally {
    await client.close();
  }
});

Deno.test("expire() by a user without PEXPIRE (or PERSIST) is refused NOPERM, executed no, and leaves the expiry as it was", async () => {
  await using fixture = await startRedisFixture();
  const admin = fixture.client;
  await admin.send(["HSET", KEY, "pa", "1"]);
  const client = await asUser(admin, fixture.server.url, "noexpire", [
    ...STORE_RULES,
    "+exists",
    "+pttl",
  ]);
  try {
    const subject = new KRules({ storage: createRedisStorage(client) })
      .subject("s");
    for (const ms of [60_000, null]) {
      const error = await replyError(subject.expire(ms));
      assert.equal(error.code, "NOPERM", error.message);
      assert.equal(error.executed, "no");
      assert.equal(await admin.send(["PTTL", KEY]), -1);
    }
  } finally {
    await client.close();
  }
});

Deno.test("OOM: a store script that would write twice is denied before its first write, so nothing is written (pins Redis' rule)", async () => {
  await using fixture = await startRedisFixture();
  const admin = fixture.client;
  await admin.send(["HSET", KEY, "pb", "1", "px", "9"]);
  await admin.send(["CONFIG", "SET", "maxmemory", 1]);
  try {
    const storage = new SubjectsRedisStorage("s", fixture.client);
    const error = await replyError(storage.store({
      inserts: Array.from(
        { length: 9000 },
        (_, i) => new SubjectProperty(`f${i}`, i),
      ),
      deletes: [new SubjectProperty("b")],
    }));
    assert.equal(error.code, "OOM");
    assert.equal(error.executed, "no");
    assert.deepEqual(
      await admin.send(["HGETALL", KEY]),
      ["pb", "1", "px", "9"],
    );
    // The rule the scripts rely on: once a script has written, Redis lets
    // its later writes through even under OOM, rather than stop half way.
    assert.equal(
      await admin.send([
        "EVAL",
        "redis.call('HDEL', KEYS[1], 'px'); redis.call('HSET', KEYS[1], 'py', '2'); return 1",
        1,
        KEY,
      ]),
      1,
    );
    assert.deepEqual(
      await admin.send(["HGETALL", KEY]),
      ["pb", "1", "py", "2"],
    );
  } finally {
    await admin.send(["CONFIG", "SET", "maxmemory", 0]);
  }
});

Deno.test("WRONGTYPE: a store script on a key that is not a hash fails at its first command and writes nothing", async () => {
  await using fixture = await startRedisFixture();
  const admin = fixture.client;
  await admin.send(["SET", KEY, "text"]);
  const storage = new SubjectsRedisStorage("s", fixture.client);
  const error = await replyError(storage.store({
    inserts: [new SubjectProperty("a", 1)],
    deletes: [new SubjectProperty("b")],
  }));
  assert.equal(error.code, "WRONGTYPE");
  assert.equal(error.executed, "no");
  assert.equal(await admin.send(["GET", KEY]), "text");
});

Deno.test("a script error after the script's first write is reported executed maybe, never no", async () => {
  await using fixture = await startRedisFixture();
  // A write the server refuses (wrong number of arguments) after one it applied.
  const script = new LuaScript(`${SCRIPT_WRITES}
write('HSET', KEYS[1], 'pa', '1')
write('HSET', KEYS[1], 'pb')
return 1
`);
  const client = fixture.client;
  // EVAL (first run), EVALSHA, then EVALSHA answered NOSCRIPT and EVAL again.
  for (const way of ["EVAL", "EVALSHA", "EVAL after NOSCRIPT"]) {
    if (way === "EVALSHA") {
      await script.sha();
      script.ranOn.add(client);
    }
    if (way === "EVAL after NOSCRIPT") await client.send(["SCRIPT", "FLUSH"]);
    await client.send(["DEL", KEY]);
    const error = await runScript(client, script, KEY, []).then(
      () => assert.fail("the script succeeded"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof RedisReplyError, String(error));
    assert.equal(error.executed, "maybe", `${way}: ${error.message}`);
    assert.equal(error.command, way === "EVALSHA" ? "EVALSHA" : "EVAL");
    assert.equal(await client.send(["HGET", KEY, "pa"]), "1");
  }
  // A script refused at its first write wrote nothing: still "no".
  const first = new LuaScript(`${SCRIPT_WRITES}
write('HSET', KEYS[1], 'pb')
return 1
`);
  const error = await replyError(runScript(fixture.client, first, KEY, []));
  assert.equal(error.executed, "no");
});

/** The storage a user might write: every required method, no `setMany()`. */
function withoutSetMany(inner: SubjectStorage): SubjectStorage {
  const storage: SubjectStorage = {
    isConcurrencySafe: () => inner.isConcurrencySafe(),
    isPersistent: () => inner.isPersistent(),
    load: () => inner.load(),
    store: (changes) => inner.store(changes),
    set: (prop, oldValueDefault) => inner.set(prop, oldValueDefault),
    get: (prop) => inner.get(prop),
    delete: (prop) => inner.delete(prop),
    getExtProps: () => inner.getExtProps(),
    flush: async () => {
      await inner.flush();
      return storage;
    },
  };
  return storage;
}

Deno.test("a direct setMany() over a storage without setMany() that fails after its first set is not reported as not executed, and leaves no stale value cached", async () => {
  await using fixture = await startRedisFixture();
  const admin = fixture.client;
  await admin.send(["HSET", KEY, "pa", "0", "pb", "0"]);
  const client = await asUser(admin, fixture.server.url, "worker", [
    "+@all",
  ]);
  try {
    let scripts = 0;
    // A real refusal between the two writes: the ACL loses EVAL and EVALSHA.
    const sender = recording(client, async (args) => {
      if (String(args[0]).startsWith("EVAL") && ++scripts === 2) {
        await admin.send(["ACL", "SETUSER", "worker", "-eval", "-evalsha"]);
      }
    });
    const redis = createRedisStorage(sender);
    const subject = new KRules({
      storage: (name) => withoutSetMany(redis(name)),
    }).subject<{ a: number; b: number }>("s");
    assert.equal(await subject.get("a"), 0); // the cache is loaded
    const error = await subject.setMany({ a: 1, b: 2 }, { useCache: false })
      .then(
        () => assert.fail("the second set was not refused"),
        (error: unknown) => error,
      );
    assert.ok(error instanceof RedisReplyError, String(error));
    assert.equal(error.code, "NOPERM");
    assert.equal(error.executed, "maybe", error.message);
    assert.deepEqual(await admin.send(["HGETALL", KEY]), [
      "pa",
      "1",
      "pb",
      "0",
    ]);
    await admin.send(["ACL", "SETUSER", "worker", "+@all"]);
    assert.equal(await subject.get("a"), 1);
    assert.equal(await subject.get("b"), 0);
  } finally {
    await client.close();
  }
});
