/**
 * Bad input, table-driven, over both storages: each case gets its typed
 * error, leaves the data exactly as it was, and the same client then serves
 * a valid operation.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { RedisClient } from "../src/client/client.ts";
import { RedisReplyError } from "../src/client/errors.ts";
import { CorruptValueError, InvalidValueError } from "../src/json/errors.ts";
import { createMemoryStorage } from "../src/storage/memory_storage.ts";
import {
  type Property,
  SubjectExtProperty,
  SubjectProperty,
} from "../src/storage/property.ts";
import { createRedisStorage } from "../src/storage/redis_storage.ts";
import type { StorageFactory } from "../src/storage/types.ts";
import { KRules } from "../src/subject/krules.ts";
import { startRedisFixture } from "./helpers_redis.ts";

const PREFIX = "t:";
const p = (name: string, value?: unknown) => new SubjectProperty(name, value);
const e = (name: string, value?: unknown) =>
  new SubjectExtProperty(name, value);

interface Target extends AsyncDisposable {
  readonly factory: StorageFactory;
  /** Everything the storage holds, to prove a failed call changed nothing. */
  snapshot(): Promise<unknown>;
  /** Raw access for setting up corrupt data; Redis only. */
  readonly raw?: RedisClient;
}

interface Case {
  readonly name: string;
  readonly redisOnly?: boolean;
  /** Raw writes that create the bad state before the snapshot. */
  setup?(raw: RedisClient): Promise<unknown>;
  act(factory: StorageFactory): unknown;
  /** Checks the error; returns true when it is the expected one. */
  expected(error: unknown): boolean;
}

function invalidValue(property: string, path: string, reason: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof InvalidValueError, String(error));
    assert.equal(error.name, "InvalidValueError");
    assert.equal(error.property, property);
    assert.equal(error.path, path);
    assert.ok(error.message.includes(JSON.stringify(property)), error.message);
    assert.match(error.message, reason);
    return true;
  };
}

function corrupt(key: string, field: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof CorruptValueError, String(error));
    assert.equal(error.key, key);
    assert.equal(error.field, field);
    assert.ok(error.message.includes(field) && error.message.includes(key));
    return true;
  };
}

function wrongType(error: unknown): boolean {
  assert.ok(error instanceof RedisReplyError, String(error));
  assert.equal(error.code, "WRONGTYPE");
  return true;
}

function typeError(pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof TypeError, String(error));
    assert.match(error.message, pattern);
    return true;
  };
}

const set = (prop: Property) => (factory: StorageFactory) =>
  factory("s").set(prop);

const cyclic: { self?: unknown; list: unknown[] } = { list: [] };
cyclic.list.push({ back: cyclic });

const CASES: readonly Case[] = [
  {
    name: "undefined",
    act: set(p("v", undefined)),
    expected: invalidValue("v", "value", /undefined/),
  },
  {
    name: "undefined inside an object, in a store with a valid value",
    act: (f) =>
      f("s").store({ inserts: [p("ok", 1), p("v", { a: undefined })] }),
    expected: invalidValue("v", "value.a", /undefined/),
  },
  {
    name: "a function inside an object",
    act: set(p("v", { nested: { f() {} } })),
    expected: invalidValue("v", "value.nested.f", /function/),
  },
  {
    name: "a symbol",
    act: set(p("v", Symbol("s"))),
    expected: invalidValue("v", "value", /symbol/),
  },
  {
    name: "a BigInt",
    act: set(p("v", 10n)),
    expected: invalidValue("v", "value", /BigInt/),
  },
  {
    name: "NaN",
    act: set(p("v", Number.NaN)),
    expected: invalidValue("v", "value", /NaN/),
  },
  {
    name: "Infinity, as an update in store()",
    act: (f) => f("s").store({ updates: [p("keep", Infinity)] }),
    expected: invalidValue("keep", "value", /Infinity/),
  },
  {
    name: "-Infinity inside an array",
    act: set(p("v", [1, -Infinity])),
    expected: invalidValue("v", "value[1]", /-Infinity/),
  },
  {
    name: "a Map",
    act: set(p("v", new Map([["a", 1]]))),
    expected: invalidValue("v", "value", /Map.*Object\.fromEntries/),
  },
  {
    name: "a Set, as an extended property",
    act: set(e("v", new Set([1]))),
    expected: invalidValue("v", "value", /Set.*Array\.from/),
  },
  {
    name: "a cycle",
    act: set(p("v", cyclic)),
    expected: invalidValue("v", "value.list[0].back", /cycle/),
  },
  {
    name: "a Date",
    act: set(p("v", { when: new Date(0) })),
    expected: invalidValue("v", "value.when", /Date.*toISOString/),
  },
  {
    name: "a class instance",
    act: set(p(
      "v",
      new (class Point {
        x = 1;
      })(),
    )),
    expected: invalidValue("v", "value", /Point/),
  },
  {
    name: "an array with a hole",
    // deno-lint-ignore no-sparse-arrays -- the hole is the point of the case
    act: set(p("v", [1, , 3])),
    expected: invalidValue("v", "value", /empty slot at index 1/),
  },
  {
    name: "a symbol-keyed property",
    act: set(p("v", { [Symbol("k")]: 1 })),
    expected: invalidValue("v", "value", /symbol-keyed/),
  },
  {
    name: "a typed array",
    act: set(p("v", { "odd key": new Uint8Array(2) })),
    expected: invalidValue("v", 'value["odd key"]', /Uint8Array/),
  },
  {
    name: "a function set whose result is NaN",
    act: set(p("keep", (n: number) => n / 0 - n / 0)),
    expected: invalidValue("keep", "value", /NaN/),
  },
  {
    name: "a function set whose result is a Promise",
    act: set(p("keep", (n: number) => Promise.resolve(n + 1))),
    expected: invalidValue("keep", "value", /Promise.*synchronously/),
  },
  {
    name: "a Subject's cached set of NaN (fails at set, not at store)",
    act: async (f) => {
      const subject = new KRules({ storage: f }).subject("s");
      try {
        await subject.set("v", Number.NaN);
      } finally {
        assert.equal(await subject.has("v"), false);
        await subject.store();
      }
    },
    expected: invalidValue("v", "value", /NaN/),
  },
  {
    name: "a Subject's cached value mutated into a Map before store()",
    act: async (f) => {
      const subject = new KRules({ storage: f }).subject("s");
      const value: Record<string, unknown> = { ok: true };
      await subject.set("ok", 1);
      await subject.set("v", value);
      value.inner = new Map();
      await subject.store();
    },
    expected: invalidValue("v", "value.inner", /Map/),
  },
  {
    name: "an empty subject name",
    act: (f) => f(""),
    expected: typeError(/must not be empty/),
  },
  {
    name: "a property type other than p or e",
    act: set({ name: "v", type: "x" as "p", value: 1 }),
    expected: typeError(/"p" \(default\) or "e" \(extended\)/),
  },
  {
    name: "a property name that is not a string",
    act: (f) => f("s").get({ name: 5 as unknown as string, type: "p" }),
    expected: typeError(/property name must be a string/),
  },
  {
    name: "corrupt JSON in a field, read by get()",
    redisOnly: true,
    setup: (raw) => raw.send(["HSET", `s:${PREFIX}s`, "pcorrupt", "{not json"]),
    act: (f) => f("s").get(p("corrupt")),
    expected: corrupt(`s:${PREFIX}s`, "pcorrupt"),
  },
  {
    name: "corrupt JSON in a field, read by load()",
    redisOnly: true,
    setup: (raw) => raw.send(["HSET", `s:${PREFIX}s`, "pcorrupt", "NaN"]),
    act: (f) => f("s").load(),
    expected: corrupt(`s:${PREFIX}s`, "pcorrupt"),
  },
  {
    name: "corrupt JSON in an extended field, read by getExtProps()",
    redisOnly: true,
    setup: (raw) => raw.send(["HSET", `s:${PREFIX}s`, "ecorrupt", "'single'"]),
    act: (f) => f("s").getExtProps(),
    expected: corrupt(`s:${PREFIX}s`, "ecorrupt"),
  },
  {
    name: "corrupt JSON in a field, updated by a function set",
    redisOnly: true,
    setup: (raw) => raw.send(["HSET", `s:${PREFIX}s`, "pcorrupt", "[1,"]),
    act: set(p("corrupt", (old: unknown) => [old])),
    expected: corrupt(`s:${PREFIX}s`, "pcorrupt"),
  },
  {
    name: "corrupt JSON in a field, read by a Subject",
    redisOnly: true,
    setup: (raw) => raw.send(["HSET", `s:${PREFIX}s`, "pcorrupt", ""]),
    // A subject decodes a property when it reads it, so the corrupt one fails.
    act: (f) => new KRules({ storage: f }).subject("s").get("corrupt"),
    expected: corrupt(`s:${PREFIX}s`, "pcorrupt"),
  },
  {
    name: "a key of the wrong type, written by set()",
    redisOnly: true,
    setup: (raw) => raw.send(["SET", `s:${PREFIX}w`, "a string"]),
    act: (f) => f("w").set(p("v", 1)),
    expected: wrongType,
  },
  {
    name: "a key of the wrong type, written by store()",
    redisOnly: true,
    setup: (raw) => raw.send(["RPUSH", `s:${PREFIX}w`, "a list"]),
    act: (f) => f("w").store({ inserts: [p("a", 1)], deletes: [p("b")] }),
    expected: wrongType,
  },
  {
    name: "a key of the wrong type, updated by a function set",
    redisOnly: true,
    setup: (raw) => raw.send(["SADD", `s:${PREFIX}w`, "a set"]),
    act: (f) => f("w").set(p("v", (n: number) => n + 1)),
    expected: wrongType,
  },
  {
    name: "a key of the wrong type, read by load()",
    redisOnly: true,
    setup: (raw) => raw.send(["SET", `s:${PREFIX}w`, "a string"]),
    act: (f) => f("w").load(),
    expected: wrongType,
  },
  {
    name: "a key of the wrong type, deleted from",
    redisOnly: true,
    setup: (raw) => raw.send(["SET", `s:${PREFIX}w`, "a string"]),
    act: (f) => f("w").delete(p("v")),
    expected: wrongType,
  },
];

async function openMemory(): Promise<Target> {
  const factory = createMemoryStorage();
  return await Promise.resolve({
    factory,
    snapshot:
      async () => [await factory("s").load(), await factory("w").load()],
    [Symbol.asyncDispose]: () => Promise.resolve(),
  });
}

async function openRedis(): Promise<Target> {
  const fixture = await startRedisFixture();
  const raw = fixture.client;
  return {
    factory: createRedisStorage(fixture.client, { keyPrefix: PREFIX }),
    raw,
    async snapshot() {
      const keys = (await raw.send(["KEYS", "*"]) as string[]).sort();
      const dump: unknown[] = [];
      for (const key of keys) {
        dump.push(key, await raw.send(["DUMP", key]));
      }
      return dump;
    },
    [Symbol.asyncDispose]: () => fixture[Symbol.asyncDispose](),
  };
}

for (
  const [label, open] of [["memory", openMemory], ["redis", openRedis]] as const
) {
  for (const testCase of CASES) {
    if (testCase.redisOnly === true && label === "memory") continue;
    Deno.test(`${label} rejects ${testCase.name} with a typed error, changes nothing, and keeps working`, async () => {
      await using target = await open();
      await target.factory("s").store({
        inserts: [p("keep", 1), e("ext", "x")],
      });
      if (testCase.setup !== undefined) {
        assert.ok(target.raw !== undefined);
        await testCase.setup(target.raw);
      }
      const before = await target.snapshot();
      await assert.rejects(
        async () => await testCase.act(target.factory),
        testCase.expected,
      );
      assert.deepEqual(await target.snapshot(), before);
      const storage = target.factory("another");
      assert.deepEqual(await storage.set(p("after", 1)), [1, undefined]);
      assert.equal(await storage.get(p("after")), 1);
      if (testCase.setup === undefined) {
        assert.deepEqual(await target.factory("s").set(p("keep", 2)), [2, 1]);
      }
    });
  }
}

Deno.test("the bad-input table has at least 15 cases per storage", () => {
  assert.ok(CASES.filter((c) => c.redisOnly !== true).length >= 15);
  assert.ok(CASES.length >= 25);
});
