/**
 * setMany() for a storage without one (src/subject/_one_by_one.ts) alone:
 * a set at a time, and once one was written, any failure says the call may
 * be partly applied. The storage is a stand-in with only `set()`: what is
 * tested is how its errors are reported, not a storage.
 *
 * @module
 */
import assert from "node:assert/strict";
import { RedisError, RedisReplyError } from "../../src/client/errors.ts";
import { notExecuted } from "../../src/storage/errors.ts";
import { SubjectProperty } from "../../src/storage/property.ts";
import type { Property } from "../../src/storage/property.ts";
import type { SubjectStorage } from "../../src/storage/types.ts";
import { setOneByOne } from "../../src/subject/_one_by_one.ts";

/** A storage whose set() fails with `error` from the `failAt`th call on. */
function failingAt(failAt: number, error: unknown) {
  const written: string[] = [];
  const storage = {
    set(prop: Property): Promise<[unknown, unknown]> {
      if (written.length === failAt) return Promise.reject(error);
      written.push(prop.name);
      return Promise.resolve([prop.value, `old ${prop.name}`]);
    },
  } as unknown as SubjectStorage;
  return { storage, written };
}

const props = [
  new SubjectProperty("a", 1),
  new SubjectProperty("b", 2),
  new SubjectProperty("c", 3),
];

Deno.test("one by one: every set in order, with the old values", async () => {
  const { storage, written } = failingAt(-1, undefined);
  assert.deepEqual(await setOneByOne(storage, props), [
    "old a",
    "old b",
    "old c",
  ]);
  assert.deepEqual(written, ["a", "b", "c"]);
});

Deno.test("one by one: a first set that fails is reported as it is", async () => {
  const refused = new RedisReplyError("OOM command not allowed");
  const { storage } = failingAt(0, refused);
  await assert.rejects(setOneByOne(storage, props), (e) => e === refused);
});

Deno.test("one by one: a reply error after a write says the call may be partly applied", async () => {
  const { storage, written } = failingAt(1, new RedisReplyError("OOM no"));
  const error = await setOneByOne(storage, props).catch((e) => e);
  assert.deepEqual(written, ["a"]);
  assert.ok(error instanceof RedisReplyError);
  assert.equal(error.executed, "maybe");
  assert.equal(error.reply, "OOM no");
  assert.equal(notExecuted(error), false);
  assert.match(error.message, /wrote 1 of 3 properties one by one/);
});

Deno.test("one by one: a refusal before sending, after a write, says so too", async () => {
  const { storage } = failingAt(2, new TypeError("bad value"));
  const error = await setOneByOne(storage, props).catch((e) => e);
  assert.ok(error instanceof RedisError);
  assert.equal(error.executed, "maybe");
  assert.match(error.message, /wrote 2 of 3 .* failed: TypeError: bad value/);
});

Deno.test("one by one: an error that may have run is passed on unchanged", async () => {
  const lost = new RedisError("connection lost", { executed: "maybe" });
  const { storage } = failingAt(1, lost);
  await assert.rejects(setOneByOne(storage, props), (e) => e === lost);
});
