/**
 * A field that does not hold valid JSON (Python's `NaN`, bytes that are not
 * UTF-8) can still be removed through a Subject: `delete`, `deleteExt` and
 * `flush` report its old value as absent and mark it `corrupt`. Over a real
 * Redis only: the memory storage keeps nothing but the JSON it encoded.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CorruptValueError } from "../../src/json/errors.ts";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import type { SubjectEvent } from "../../src/subject/event_bus.ts";
import { KRules } from "../../src/subject/krules.ts";
import { startRedisFixture } from "../helpers/redis.ts";

// What Python's json.dumps(float("nan")) writes, and Latin-1 bytes.
const CORRUPT: Record<string, string | Uint8Array> = {
  NaN: "NaN",
  "non-UTF-8": new Uint8Array([0x22, 0x63, 0x61, 0x66, 0xe9, 0x22]),
};

async function setUp(text: string | Uint8Array) {
  const fixture = await startRedisFixture();
  const client = fixture.client;
  await client.send([
    "HSET",
    "s:s",
    "pprice",
    text,
    "eprice",
    text,
    "pgood",
    '"ok"',
  ]);
  const krules = new KRules({ storage: createRedisStorage(client) });
  const events: [string, Record<string, unknown>][] = [];
  krules.eventBus.on("*", (event: SubjectEvent) => {
    events.push([event.type, event.payload]);
  });
  const fields = async () =>
    (await client.send(["HKEYS", "s:s"]) as string[]).sort();
  return { fixture, krules, events, fields };
}

for (const [label, text] of Object.entries(CORRUPT)) {
  for (const useCache of [false, true]) {
    const how = useCache ? "cached + store()" : "direct";
    Deno.test(`redis: delete() and deleteExt() ${how} remove a ${label} field and report its old value as absent`, async () => {
      const { fixture, krules, events, fields } = await setUp(text);
      await using _ = fixture;
      const subject = krules.subject("s");
      await subject.delete("price", { useCache });
      await subject.deleteExt("price", { useCache });
      await subject.store();
      assert.deepEqual(await fields(), ["pgood"]);
      assert.deepEqual(events, [
        ["subject-property-deleted", {
          property_name: "price",
          old_value: null,
          corrupt: true,
        }],
      ]);
      // Deleting it again: it is gone.
      await assert.rejects(subject.delete("price", { useCache }), /price/);
    });
  }

  Deno.test(`redis: flush() deletes a subject with a ${label} field and marks it corrupt in its events`, async () => {
    const { fixture, krules, events, fields } = await setUp(text);
    await using _ = fixture;
    const subject = krules.subject("s");
    await subject.flush();
    assert.deepEqual(await fields(), []);
    assert.deepEqual(events, [
      ["subject-property-deleted", {
        property_name: "price",
        old_value: null,
        corrupt: true,
      }],
      ["subject-property-deleted", { property_name: "good", old_value: "ok" }],
      ["subject-property-deleted", {
        property_name: "price",
        old_value: null,
        corrupt: true,
      }],
      ["subject-deleted", {
        props: { good: "ok" },
        ext_props: {},
        corrupt: { props: ["price"], ext_props: ["price"] },
      }],
    ]);
  });

  Deno.test(`redis: dict() rejects a ${label} field unless asked to skip corrupt fields`, async () => {
    const { fixture, krules } = await setUp(text);
    await using _ = fixture;
    const subject = krules.subject("s");
    await assert.rejects(subject.dict(), CorruptValueError);
    assert.deepEqual(await subject.dict({ skipCorrupt: true }), {
      name: "s",
      good: "ok",
      ext: {},
    });
    await assert.rejects(subject.dict(), CorruptValueError);
  });
}
