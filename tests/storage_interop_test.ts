/**
 * Interop with the Python package: hashes written the way Python's
 * `json.dumps` writes them load here, and what this module writes is plain
 * JSON under the same field names.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisStorage } from "../src/storage/redis_storage.ts";
import { KRules } from "../src/subject/krules.ts";
import { startRedisFixture } from "./helpers_redis.ts";

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
