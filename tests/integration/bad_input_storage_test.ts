/**
 * Bad input to the storage layer (and the Subject over it), as one table:
 * values JSON cannot carry, through every write path; bad names and options;
 * corrupt fields; keys of the wrong type; names and values past the server's
 * `proto-max-bulk-len`. The client layer's table (URLs, connection options,
 * command arguments, broken RESP) is in `bad_input_client_test.ts`.
 *
 * Every case runs over the memory storage (unless it needs Redis) and over
 * the Redis storage on a server of its own, and proves the same four things:
 * the error is typed and says what went wrong, nothing was written, the
 * password never shows, and the very storage that was in use then serves a
 * valid call.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  CorruptValueError,
  createMemoryStorage,
  createRedisClient,
  createRedisStorage,
  InvalidValueError,
  KRules,
  type RedisClient,
  RedisReplyError,
  type StorageFactory,
} from "../../mod.ts";
import {
  type Property,
  SubjectExtProperty,
  SubjectProperty,
} from "../../storage.ts";
import { startRedisServer } from "../../src/testing/redis_server.ts";

const PASSWORD = "b4d-input-Pa55";
const PREFIX = "bad:";
/** Larger than the servers' `proto-max-bulk-len` below. */
const OVER_LIMIT = 1024 * 1024 + 1;
const SERVER_CONFIG = [`requirepass ${PASSWORD}`, "proto-max-bulk-len 1mb"];

const p = (name: string, value?: unknown): Property =>
  new SubjectProperty(name, value);
const e = (name: string, value?: unknown): Property =>
  new SubjectExtProperty(name, value);

/** What a case works with. */
interface Context {
  /** The storage under test, with the key prefix `bad:` on Redis. */
  readonly storage: StorageFactory;
  /** The Redis client under the storage; absent for memory. */
  readonly client?: RedisClient;
}

interface Case {
  readonly name: string;
  /** Raw writes that create the bad state; the case then runs on Redis only. */
  readonly setup?: (raw: RedisClient) => Promise<unknown>;
  /** Set when the case needs Redis without a setup. */
  readonly redisOnly?: true;
  readonly act: (ctx: Context) => unknown;
  /** The error's class, and a pattern its message must match. */
  readonly error: abstract new (...args: never[]) => Error;
  readonly message: RegExp;
  /** More checks on the error. */
  readonly check?: (error: never) => void;
}

const code = (expected: string) => (error: RedisReplyError) =>
  assert.equal(error.code, expected);

// ------------------------------------------- values JSON cannot carry

const cyclic: Record<string, unknown> = { list: [] };
(cyclic.list as unknown[]).push({ back: cyclic });
const nonJsonValues: [string, unknown, string, RegExp][] = [
  ["undefined", undefined, "value", /is undefined/],
  ["undefined inside an object", { a: undefined }, "value.a", /undefined/],
  [
    "a function inside an object",
    { on: { f() {} } },
    "value.on.f",
    /is a function/,
  ],
  ["a symbol", Symbol("s"), "value", /is a symbol/],
  ["a BigInt", 10n, "value", /is a BigInt/],
  ["NaN", NaN, "value", /is NaN/],
  ["Infinity", Infinity, "value", /is Infinity/],
  ["-Infinity inside an array", [1, -Infinity], "value[1]", /is -Infinity/],
  ["a Map", new Map([["a", 1]]), "value", /Map.*Object\.fromEntries/],
  ["a Set", new Set([1]), "value", /Set.*Array\.from/],
  ["a cycle", cyclic, "value.list[0].back", /cycle/],
  ["a Date", { at: new Date(0) }, "value.at", /Date.*toISOString/],
  ["a class instance", new (class Money {})(), "value", /a Money/],
  [
    "a typed array under an odd key",
    { "odd key": new Uint8Array(2) },
    'value["odd key"]',
    /Uint8Array/,
  ],
  ["a boxed number", Object(1), "value", /Number/],
  // deno-lint-ignore no-sparse-arrays -- the hole is the point of the case
  ["an array with a hole", [1, , 3], "value", /empty slot at index 1/],
  ["a symbol-keyed property", { [Symbol("k")]: 1 }, "value", /symbol-keyed/],
];

/** Every way a value reaches the storage; each writes property "v". */
const writePaths: [
  string,
  (ctx: Context, value: unknown) => Promise<unknown>,
][] = [
  ["set()", (ctx, value) => ctx.storage("s").set(p("v", value))],
  [
    "set() of an extended property",
    (ctx, value) => ctx.storage("s").set(e("v", value)),
  ],
  [
    "store() beside a valid value",
    (ctx, value) =>
      ctx.storage("s").store({ inserts: [p("fine", 1), p("v", value)] }),
  ],
  [
    "store() as an update, with a delete",
    (ctx, value) =>
      ctx.storage("s").store({
        updates: [p("v", value)],
        deletes: [p("keep")],
      }),
  ],
  [
    "a compare-and-set update",
    (ctx, value) => ctx.storage("s").set(p("v", () => value)),
  ],
  [
    "a Subject's cached set",
    async (ctx, value) => {
      const subject = new KRules({ storage: ctx.storage }).subject("s");
      try {
        await subject.set("v", value);
      } finally {
        // The value never entered the cache, so store() has nothing to write.
        assert.equal(await subject.has("v"), false);
        await subject.store();
      }
    },
  ],
];

const valueCase = (
  [label, value, path, message]: [string, unknown, string, RegExp],
  [via, write]: (typeof writePaths)[number],
): Case => ({
  name: `${label}, written by ${via}`,
  act: (ctx) => write(ctx, value),
  error: InvalidValueError,
  message,
  check: (error: InvalidValueError) => {
    assert.equal(error.property, "v");
    assert.equal(error.path, path);
    assert.match(error.message, /^Cannot store property "v": /);
  },
});

// ------------------------------------------------------------- other input

const corrupt = (field: string) => (error: CorruptValueError) => {
  assert.equal(error.key, `s:${PREFIX}s`);
  assert.equal(error.field, field);
  assert.ok(error.message.includes(field) && error.message.includes(error.key));
};
const corruptField = (field: string, text: string) => (raw: RedisClient) =>
  raw.send(["HSET", `s:${PREFIX}s`, field, text]);
const wrongKey = (...command: string[]) => (raw: RedisClient) =>
  raw.send([command[0], `s:${PREFIX}w`, ...command.slice(1)]);

const otherCases: Case[] = [
  {
    name: "a function set whose result is NaN",
    act: (ctx) => ctx.storage("s").set(p("keep", (n: number) => n / 0 - n / 0)),
    error: InvalidValueError,
    message: /is NaN/,
  },
  {
    name: "a compare-and-set update that returns a Promise",
    act: (ctx) =>
      ctx.storage("s").set(p("keep", (n: number) => Promise.resolve(n + 1))),
    error: InvalidValueError,
    message: /Promise.*synchronously/,
  },
  {
    name: "an empty subject name",
    act: (ctx) => ctx.storage(""),
    error: TypeError,
    message: /subject name must not be empty/,
  },
  {
    name: "an empty subject name given to KRules",
    act: (ctx) => new KRules({ storage: ctx.storage }).subject(""),
    error: TypeError,
    message: /subject name must not be empty/,
  },
  {
    name: "a subject name with a lone surrogate",
    act: (ctx) => ctx.storage("user-\ud800"),
    error: TypeError,
    message: /lone surrogate/,
  },
  {
    name: "a property name with a lone surrogate",
    act: (ctx) =>
      ctx.storage("s").store({ inserts: [p("fine", 1), p("\udc00", 1)] }),
    error: TypeError,
    message: /Property name "\\udc00" contains a lone surrogate/,
  },
  {
    name: "a property name that is not a string",
    act: (ctx) => ctx.storage("s").get(p(7 as unknown as string)),
    error: TypeError,
    message: /property name must be a string, got number/,
  },
  {
    name: "a property type other than p or e",
    act: (ctx) =>
      ctx.storage("s").set({ name: "v", type: "x" as "p", value: 1 }),
    error: TypeError,
    message: /must be "p" \(default\) or "e" \(extended\)/,
  },
  {
    name: "a maxCasAttempts of 0",
    redisOnly: true,
    act: (ctx) => createRedisStorage(ctx.client!, { maxCasAttempts: 0 }),
    error: RangeError,
    message: /maxCasAttempts must be a positive integer, got 0/,
  },
  {
    name: "a value past proto-max-bulk-len",
    redisOnly: true,
    act: (ctx) => ctx.storage("s").set(p("big", "x".repeat(OVER_LIMIT))),
    error: RedisReplyError,
    message: /invalid bulk length/,
    check: code("ERR"),
  },
  {
    name: "a subject name past proto-max-bulk-len",
    redisOnly: true,
    act: (ctx) =>
      ctx.storage("n".repeat(OVER_LIMIT)).store({ inserts: [p("a", 1)] }),
    error: RedisReplyError,
    message: /invalid bulk length/,
    check: code("ERR"),
  },
  {
    name: "a property name past proto-max-bulk-len",
    redisOnly: true,
    act: (ctx) =>
      new KRules({ storage: ctx.storage }).subject("s").set(
        "n".repeat(OVER_LIMIT),
        1,
        { useCache: false },
      ),
    error: RedisReplyError,
    message: /invalid bulk length/,
    check: code("ERR"),
  },
  {
    name: "corrupt JSON in a field, read by get()",
    setup: corruptField("pbroken", "{not json"),
    act: (ctx) => ctx.storage("s").get(p("broken")),
    error: CorruptValueError,
    message:
      /^Property "broken" \(field "pbroken" of key "s:bad:s"\) does not hold valid JSON/,
    check: corrupt("pbroken"),
  },
  {
    name: "corrupt JSON in a field, read by load()",
    setup: corruptField("pbroken", "NaN"),
    act: (ctx) => ctx.storage("s").load(),
    error: CorruptValueError,
    message: /"pbroken"/,
    check: corrupt("pbroken"),
  },
  {
    name: "corrupt JSON in an extended field, read by getExtProps()",
    setup: corruptField("ebroken", "'single'"),
    act: (ctx) => ctx.storage("s").getExtProps(),
    error: CorruptValueError,
    message: /"ebroken"/,
    check: corrupt("ebroken"),
  },
  {
    name: "corrupt JSON in a field, updated by compare-and-set",
    setup: corruptField("pbroken", "[1,"),
    act: (ctx) => ctx.storage("s").set(p("broken", (old: unknown) => [old])),
    error: CorruptValueError,
    message: /"pbroken"/,
    check: corrupt("pbroken"),
  },
  {
    name: "corrupt JSON in a field, read by a Subject's get()",
    setup: corruptField("pbroken", ""),
    act: (ctx) =>
      new KRules({ storage: ctx.storage }).subject("s").get("broken"),
    error: CorruptValueError,
    message: /"pbroken"/,
    check: corrupt("pbroken"),
  },
  {
    name: "corrupt JSON in an extended field, read by a Subject's dict()",
    setup: corruptField("ebroken", "'quoted'"),
    act: (ctx) => new KRules({ storage: ctx.storage }).subject("s").dict(),
    error: CorruptValueError,
    message: /"ebroken"/,
    check: corrupt("ebroken"),
  },
  {
    name: "a string key where the subject's hash should be, written by set()",
    setup: wrongKey("SET", "a string"),
    act: (ctx) => ctx.storage("w").set(p("v", 1)),
    error: RedisReplyError,
    message: /^Redis refused a command on subject key "s:bad:w": WRONGTYPE/,
    check: code("WRONGTYPE"),
  },
  {
    name: "a string key where the subject's hash should be, written by store()",
    setup: wrongKey("SET", "a string"),
    act: (ctx) =>
      ctx.storage("w").store({ inserts: [p("a", 1)], deletes: [p("b")] }),
    error: RedisReplyError,
    message: /^Redis refused a command on subject key "s:bad:w": WRONGTYPE/,
    check: code("WRONGTYPE"),
  },
  {
    name: "a list key where the subject's hash should be, read by load()",
    setup: wrongKey("RPUSH", "a list"),
    act: (ctx) => ctx.storage("w").load(),
    error: RedisReplyError,
    message:
      /^Redis refused a command on subject key "s:bad:w": WRONGTYPE.*\(command: HGETALL\)$/,
    check: code("WRONGTYPE"),
  },
  {
    name:
      "a set key where the subject's hash should be, updated by compare-and-set",
    setup: wrongKey("SADD", "a set"),
    act: (ctx) => ctx.storage("w").set(p("n", (n: number) => n + 1)),
    error: RedisReplyError,
    message: /^Redis refused a command on subject key "s:bad:w": WRONGTYPE/,
    check: code("WRONGTYPE"),
  },
  {
    name: "a string key where the subject's hash should be, deleted from",
    setup: wrongKey("SET", "a string"),
    act: (ctx) => ctx.storage("w").delete(p("v")),
    error: RedisReplyError,
    message: /^Redis refused a command on subject key "s:bad:w": WRONGTYPE/,
    check: code("WRONGTYPE"),
  },
];

// ------------------------------------------------------------------- runner

interface Target extends AsyncDisposable {
  readonly label: string;
  readonly ctx: Context;
  /** Everything the storage holds, to prove a failed call changed nothing. */
  snapshot(): Promise<unknown>;
  /** Raw access for setting up corrupt data; Redis only. */
  readonly raw?: RedisClient;
}

function openMemory(): Promise<Target> {
  const storage = createMemoryStorage();
  return Promise.resolve({
    label: "memory",
    ctx: { storage },
    snapshot: () =>
      Promise.all(["s", "w", "another"].map((name) => storage(name).load())),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  });
}

async function openRedis(): Promise<Target> {
  const server = await startRedisServer({ config: SERVER_CONFIG });
  const url = server.url.replace("redis://", `redis://:${PASSWORD}@`);
  const raw = await createRedisClient(url);
  const client = await createRedisClient(url);
  return {
    label: "redis",
    ctx: { client, storage: createRedisStorage(client, { keyPrefix: PREFIX }) },
    raw,
    async snapshot() {
      // Every key with its DUMP.
      const keys = (await raw.send(["KEYS", "*"]) as string[]).sort();
      return await Promise.all(
        keys.map(async (key) => [key, await raw.send(["DUMP", key])]),
      );
    },
    async [Symbol.asyncDispose]() {
      await Promise.all([raw.close(), client.close()]);
      await server.stop();
    },
  };
}

function register(testCase: Case, open: () => Promise<Target>, label: string) {
  Deno.test(`bad input to the storage (${label}): ${testCase.name} → ${testCase.error.name}, nothing written, the same storage goes on`, async () => {
    await using target = await open();
    const { ctx } = target;
    await ctx.storage("s").store({ inserts: [p("keep", 1), e("ext", "x")] });
    if (testCase.setup !== undefined) await testCase.setup(target.raw!);
    const before = await target.snapshot();

    const error = await (async () => await testCase.act(ctx))().then(
      () => assert.fail("the bad input was accepted"),
      (error: unknown) => error,
    );

    assert.ok(error instanceof testCase.error, `${error}`);
    assert.ok(error.message.length >= 20, `unclear: ${error.message}`);
    assert.match(error.message, testCase.message);
    assert.ok(!Deno.inspect(error).includes(PASSWORD), "password leaked");
    testCase.check?.(error as never);
    assert.deepEqual(await target.snapshot(), before, "nothing written");

    assert.deepEqual(await ctx.storage("s").get(p("keep")), 1);
    assert.deepEqual(await ctx.storage("after").set(p("ok", true)), [
      true,
      undefined,
    ]);
    assert.deepEqual(await ctx.storage("after").load(), [{ ok: true }, {}]);
  });
}

// The memory storage takes every value through every write path; Redis, with
// a server per case, takes each value through one, in turn.
for (const [i, value] of nonJsonValues.entries()) {
  for (const path of writePaths) {
    register(valueCase(value, path), openMemory, "memory");
  }
  register(
    valueCase(value, writePaths[i % writePaths.length]),
    openRedis,
    "redis",
  );
}
for (const testCase of otherCases) {
  if (testCase.setup === undefined && testCase.redisOnly !== true) {
    register(testCase, openMemory, "memory");
  }
  register(testCase, openRedis, "redis");
}

Deno.test("huge values and long names within the limits round-trip: a 50 MB string, a 100 KB subject name, a 100 KB property name", async () => {
  await using server = await startRedisServer();
  // Sizes, not speed, are under test: a 50 MB script call may take longer
  // than the default 5 s on a busy machine.
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: 60_000,
  });
  const storage = createRedisStorage(client, { keyPrefix: PREFIX });
  const huge = "é".repeat(25 * 1024 * 1024); // 50 MB as UTF-8
  const longName = "n".repeat(100 * 1024);
  await storage("huge").set(p("v", huge));
  assert.equal(await storage("huge").get(p("v")), huge);
  await storage(longName).store({
    inserts: [p(longName, 1), e("x", [huge.slice(0, 10)])],
  });
  assert.deepEqual(await storage(longName).load(), [
    { [longName]: 1 },
    { x: ["éééééééééé"] },
  ]);
  assert.equal(
    await client.send(["HSTRLEN", `s:${PREFIX}huge`, "pv"]),
    50 * 1024 * 1024 + 2,
  );
});
