/**
 * Interop with the Python package: hashes written the way Python's
 * `json.dumps` writes them load here, and what this module writes is plain
 * JSON under the same field names.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CorruptValueError } from "../../src/json/errors.ts";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import { SubjectProperty } from "../../src/storage/property.ts";
import { KRules } from "../../src/subject/krules.ts";
import type { RedisServer } from "../../src/testing/redis_server.ts";
import { type RedisFixture, startRedisFixture } from "../helpers/redis.ts";

/** Field texts exactly as `json.dumps(value)` (default settings) writes them. */
const PYTHON_FIELDS: Record<string, [text: string, value: unknown]> = {
  pname: ['"John Doe"', "John Doe"],
  pcity: ['"Caf\\u00e9 na\\u00efve"', "Café naïve"],
  procket: ['"\\ud83d\\ude80"', "🚀"],
  pquote: [
    '"say \\"hi\\"\\n\\ttab \\\\ slash /"',
    'say "hi"\n\ttab \\ slash /',
  ],
  page: ["30", 30],
  pscore: ["1.5", 1.5],
  pnegative: ["-0.25", -0.25],
  phuge: ["1e+100", 1e100],
  ptiny: ["5e-324", 5e-324],
  pflag: ["true", true],
  pnothing: ["null", null],
  pempty_list: ["[]", []],
  pempty_dict: ["{}", {}],
  pnested: [
    '{"a": [1, 2.5, {"b": null}], "c": {"d": "caf\\u00e9"}, "e": true}',
    { a: [1, 2.5, { b: null }], c: { d: "café" }, e: true },
  ],
  elastlogin: ['"2024-01-01T12:00:00"', "2024-01-01T12:00:00"],
  etags: ['["a", "b"]', ["a", "b"]],
};

Deno.test("interop: fields written as Python's json.dumps writes them load unchanged", async () => {
  await using redis = await startRedisFixture();
  const args = Object.entries(PYTHON_FIELDS).flatMap(([field, [text]]) => [
    field,
    text,
  ]);
  await redis.client.send(["HSET", "s:myapp:user-123", ...args]);
  const storage = createRedisStorage(redis.client, { keyPrefix: "myapp:" })(
    "user-123",
  );
  const expectedProps: Record<string, unknown> = {};
  const expectedExt: Record<string, unknown> = {};
  for (const [field, [, value]] of Object.entries(PYTHON_FIELDS)) {
    (field[0] === "p" ? expectedProps : expectedExt)[field.slice(1)] = value;
  }
  assert.deepEqual(await storage.load(), [expectedProps, expectedExt]);

  const subject = new KRules({
    storage: createRedisStorage(redis.client, { keyPrefix: "myapp:" }),
  }).subject("user-123");
  assert.equal(await subject.get("city"), "Café naïve");
  assert.deepEqual(await subject.getExt("tags"), ["a", "b"]);
  assert.deepEqual(
    await subject.set("score", (s: number) => s + 1, { useCache: false }),
    [2.5, 1.5],
  );
});

Deno.test("interop: what this module writes is standard JSON under the same field names, equal in value to Python's spelling", async () => {
  await using redis = await startRedisFixture();
  const subject = new KRules({
    storage: createRedisStorage(redis.client, { keyPrefix: "myapp:" }),
  }).subject("user-123");
  for (const [field, [, value]] of Object.entries(PYTHON_FIELDS)) {
    if (field[0] === "p") await subject.set(field.slice(1), value);
    else await subject.setExt(field.slice(1), value);
  }
  await subject.store();
  const raw = await redis.client.send([
    "HGETALL",
    "s:myapp:user-123",
  ]) as string[];
  const written = new Map<string, string>();
  for (let i = 0; i < raw.length; i += 2) written.set(raw[i], raw[i + 1]);
  assert.deepEqual(
    [...written.keys()].sort(),
    Object.keys(PYTHON_FIELDS).sort(),
  );
  for (const [field, [pythonText, value]] of Object.entries(PYTHON_FIELDS)) {
    const text = written.get(field)!;
    // Compact JSON with raw UTF-8: both parsers read it, and it means the
    // same value as Python's spaced, \u-escaped spelling.
    assert.deepEqual(JSON.parse(text), value, field);
    assert.deepEqual(JSON.parse(text), JSON.parse(pythonText), field);
    assert.equal(text, JSON.stringify(value), field);
  }
  assert.equal(written.get("pcity"), '"Café naïve"');
  assert.equal(
    written.get("pnested"),
    '{"a":[1,2.5,{"b":null}],"c":{"d":"café"},"e":true}',
  );
});

/** Runs redis-cli on the fixture's server, as another service's operator would. */
async function redisCli(
  server: RedisServer,
  ...args: string[]
): Promise<string> {
  const output = await new Deno.Command("redis-cli", {
    args: ["-u", server.url, "--raw", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).trim();
}

/** A hash as Python's json.dumps writes a big int, an overflowing float and a name. */
async function pythonBigNumbers(redis: RedisFixture): Promise<void> {
  await redisCli(
    redis.server,
    "HSET",
    "s:user-1",
    "pbig",
    "12345678901234567890",
    "phuge",
    "1e400",
    "pname",
    '"Ada"',
  );
}

function isCorrupt(property: string, reason: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof CorruptValueError, String(error));
    assert.equal(error.property, property);
    assert.equal(error.reason, reason);
    assert.ok(error.message.includes(JSON.stringify(property)), error.message);
    return true;
  };
}

Deno.test("interop: an integer Python wrote beyond what a number holds is refused by default, naming the property, and never written back rounded", async () => {
  await using redis = await startRedisFixture();
  await pythonBigNumbers(redis);
  const factory = createRedisStorage(redis.client);
  const storage = factory("user-1");
  await assert.rejects(
    storage.get(new SubjectProperty("big")),
    isCorrupt("big", "unsafe-integer"),
  );
  await assert.rejects(
    storage.get(new SubjectProperty("huge")),
    isCorrupt("huge", "overflow"),
  );
  await assert.rejects(storage.load(), CorruptValueError);

  const subject = new KRules({ storage: factory }).subject("user-1");
  // The other fields of the subject still read.
  assert.equal(await subject.get("name"), "Ada");
  await assert.rejects(subject.get("big"), isCorrupt("big", "unsafe-integer"));
  // A function set that returns what it read writes nothing, cached or not.
  await assert.rejects(
    subject.set("big", (n: unknown) => n, { useCache: false }),
    isCorrupt("big", "unsafe-integer"),
  );
  await assert.rejects(
    subject.set("big", (n: unknown) => n),
    isCorrupt("big", "unsafe-integer"),
  );
  await subject.store();
  assert.equal(
    await redisCli(redis.server, "HGET", "s:user-1", "pbig"),
    "12345678901234567890",
  );
});

Deno.test('interop: with unsafeIntegers "bigint", a big integer Python wrote reads as an exact BigInt and is written back with the same digits', async () => {
  await using redis = await startRedisFixture();
  await pythonBigNumbers(redis);
  const factory = createRedisStorage(redis.client, {
    unsafeIntegers: "bigint",
  });
  const storage = factory("user-1");
  assert.equal(
    await storage.get(new SubjectProperty("big")),
    12345678901234567890n,
  );
  // Overflow has no exact reading in either mode.
  await assert.rejects(
    storage.get(new SubjectProperty("huge")),
    isCorrupt("huge", "overflow"),
  );

  const subject = new KRules({ storage: factory }).subject("user-1");
  const big = await subject.get("big");
  assert.equal(big, 12345678901234567890n);
  await subject.set("copy", big);
  await subject.setExt("nested", { ids: [big, 1n] });
  await subject.store();
  assert.equal(
    await redisCli(redis.server, "HGET", "s:user-1", "pcopy"),
    "12345678901234567890",
  );
  assert.equal(
    await redisCli(redis.server, "HGET", "s:user-1", "enested"),
    '{"ids":[12345678901234567890,1]}',
  );
  // Direct writes take the same path through the storage's own encoding.
  await subject.set("direct", 2n ** 70n, { useCache: false });
  await subject.setMany({ many: [-(2n ** 64n)] }, { useCache: false });
  assert.equal(
    await redisCli(redis.server, "HGET", "s:user-1", "pdirect"),
    "1180591620717411303424",
  );
  assert.equal(
    await redisCli(redis.server, "HGET", "s:user-1", "pmany"),
    "[-18446744073709551616]",
  );
});

Deno.test('interop: with unsafeIntegers "bigint", function sets on a big integer increment it exactly, direct and cached', async () => {
  await using redis = await startRedisFixture();
  await pythonBigNumbers(redis);
  const krules = new KRules({
    storage: createRedisStorage(redis.client, { unsafeIntegers: "bigint" }),
  });
  const changes: unknown[] = [];
  krules.eventBus.on("subject-property-changed", (event) => {
    changes.push(event.payload);
  });
  const increment = (n: unknown) => (n as bigint) + 1n;

  const direct = krules.subject("user-1");
  assert.deepEqual(
    await direct.set("big", increment, { useCache: false }),
    [12345678901234567891n, 12345678901234567890n],
  );
  assert.equal(
    await redisCli(redis.server, "HGET", "s:user-1", "pbig"),
    "12345678901234567891",
  );

  const cached = krules.subject("user-1");
  await cached.set("big", increment);
  await cached.store();
  assert.equal(
    await redisCli(redis.server, "HGET", "s:user-1", "pbig"),
    "12345678901234567892",
  );
  // Setting the value it already holds changes nothing.
  await cached.set("big", 12345678901234567892n);
  assert.deepEqual(changes, [
    {
      property_name: "big",
      old_value: 12345678901234567890n,
      value: 12345678901234567891n,
    },
    {
      property_name: "big",
      old_value: 12345678901234567891n,
      value: 12345678901234567892n,
    },
  ]);
});

Deno.test('interop: with unsafeIntegers "bigint", cached function sets that conflict are computed again on the exact integer', async () => {
  await using redis = await startRedisFixture();
  await pythonBigNumbers(redis);
  const krules = new KRules({
    storage: createRedisStorage(redis.client, { unsafeIntegers: "bigint" }),
  });
  const increment = (n: unknown) => (n as bigint) + 1n;
  // Two workers load the same value, each adds one in its cache: the second
  // store() finds the field changed and must apply its function again to
  // the exact integer the first one wrote.
  const first = krules.subject("user-1");
  const second = krules.subject("user-1");
  await first.set("big", increment);
  await second.set("big", increment);
  await first.store();
  await second.store();
  assert.equal(
    await redisCli(redis.server, "HGET", "s:user-1", "pbig"),
    "12345678901234567892",
  );
});

Deno.test('interop: the memory storage takes unsafeIntegers too: BigInt refused by default, kept exactly with "bigint"', async () => {
  const strict = new KRules({ storage: createMemoryStorage() }).subject("u");
  await assert.rejects(strict.set("n", 1n), /BigInt/);
  await assert.rejects(strict.set("n", 1n, { useCache: false }), /BigInt/);

  const krules = new KRules({
    storage: createMemoryStorage({ unsafeIntegers: "bigint" }),
  });
  const subject = krules.subject("u");
  await subject.set("n", 12345678901234567890n);
  await subject.store();
  await subject.set("n", (n: unknown) => (n as bigint) * 10n, {
    useCache: false,
  });
  assert.equal(
    await krules.subject("u").get("n"),
    123456789012345678900n,
  );
});
Deno.test("interop: a cached function set over a field Python wrote, read first or not, stores in one command over the exact text it read", async () => {
  await using redis = await startRedisFixture();
  const key = "s:myapp:user-123";
  await redis.client.send(["HSET", key, "ptags", '["a", "b"]', "pn", "1.0"]);
  const subject = new KRules({
    storage: createRedisStorage(redis.client, { keyPrefix: "myapp:" }),
  }).subject("user-123");
  // Read first: the cache keeps the text the value was decoded from.
  assert.deepEqual(await subject.get("tags"), ["a", "b"]);
  await subject.set("tags", (tags: string[]) => [...tags, "c"]);
  await subject.set("n", (n: number) => n + 1);
  const before = redis.client.stats.commands;
  await subject.store();
  // One store script, no conflict and no second attempt: its condition
  // named Python's spelling, not this module's re-encoding ("[\"a\",\"b\"]", "1").
  assert.equal(redis.client.stats.commands - before, 1);
  assert.deepEqual(await redis.client.send(["HMGET", key, "ptags", "pn"]), [
    '["a","b","c"]',
    "2",
  ]);
});
