/**
 * `flush()` deletes what the subject held when it was called, and nothing
 * after: a change made while a flush is in flight survives it, and the next
 * `store()` writes it. Over the memory storage and a real Redis, with and
 * without an event listener (which makes the flush wait for its handlers).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisClient } from "../../src/client/client.ts";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import type { StorageFactory } from "../../src/storage/types.ts";
import type { SubjectEvent } from "../../src/subject/event_bus.ts";
import { KRules } from "../../src/subject/krules.ts";
import type { Subject } from "../../src/subject/subject.ts";
import { startRedisFixture } from "../helpers/redis.ts";

interface Backend extends AsyncDisposable {
  readonly storage: StorageFactory;
}

const BACKENDS: Record<string, () => Promise<Backend>> = {
  memory: () =>
    Promise.resolve({
      storage: createMemoryStorage(),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    }),
  redis: async () => {
    const fixture = await startRedisFixture();
    return {
      storage: createRedisStorage(fixture.client),
      [Symbol.asyncDispose]: () => fixture[Symbol.asyncDispose](),
    };
  },
};

/** A change made after `flush()` was called, and what it leaves stored. */
interface Change {
  readonly name: string;
  make(subject: Subject): Promise<unknown>;
  readonly stored: Record<string, unknown>;
}

const CHANGES: Change[] = [
  {
    name: "a cached set()",
    make: (s) => s.set("b", 2),
    stored: { b: 2 },
  },
  {
    name: "a cached setMany() and setExt()",
    make: async (s) => {
      await s.setMany({ b: 2, c: 3 });
      await s.setExt("x", "y");
    },
    stored: { b: 2, c: 3, ext: { x: "y" } },
  },
  {
    name: "a cached function set()",
    make: (s) => s.set("a", (n) => ((n as number | undefined) ?? 0) + 10),
    stored: { a: 10 },
  },
  {
    name: "a direct set()",
    make: (s) => s.set("b", 2, { useCache: false }),
    stored: { b: 2 },
  },
  {
    name: "a direct setMany()",
    make: (s) => s.setMany({ b: 2 }, { useCache: false }),
    stored: { b: 2 },
  },
];

for (const [label, open] of Object.entries(BACKENDS)) {
  for (const listener of [false, true]) {
    for (const loaded of [true, false]) {
      for (const change of CHANGES) {
        Deno.test(
          `${label}: ${change.name} made while flush() is in flight survives it (${
            listener ? "with" : "without"
          } a listener, cache ${loaded ? "loaded" : "not loaded"})`,
          async () => {
            await using backend = await open();
            const krules = new KRules({ storage: backend.storage });
            const events: string[] = [];
            if (listener) {
              krules.eventBus.on("*", (event: SubjectEvent) => {
                events.push(event.type);
              });
            }
            const writer = krules.subject("s");
            await writer.setMany({ a: 1, gone: true });
            await writer.setExt("old", 1);
            await writer.store();

            const subject = krules.subject("s");
            if (loaded) assert.equal(await subject.get("a"), 1);
            // Not awaited: the change is made while the flush is in flight.
            const flushing = subject.flush();
            await change.make(subject);
            assert.equal(await flushing, subject);
            await subject.store();

            const { ext, ...props } = change.stored;
            assert.deepEqual(await krules.subject("s").dict(), {
              name: "s",
              ...props,
              ext: ext ?? {},
            });
            if (listener) assert.ok(events.includes("subject-deleted"));
          },
        );
      }
    }
  }
}

Deno.test("memory: changes made before flush() was called are deleted with the subject", async () => {
  const krules = new KRules({ storage: createMemoryStorage() });
  const subject = krules.subject("s");
  await subject.set("stored", 1);
  await subject.store();
  await subject.set("cached", 2);
  const pending = subject.set("unawaited", 3);
  await subject.flush();
  await pending;
  await subject.store();
  assert.deepEqual(await krules.subject("s").dict(), { name: "s", ext: {} });
});

Deno.test("memory: a store() in flight when flush() is called is not written again after it", async () => {
  const storage = createMemoryStorage();
  const krules = new KRules({ storage });
  const subject = krules.subject("s");
  await subject.set("a", 1);
  const storing = subject.store();
  const flushing = subject.flush();
  await storing;
  await flushing;
  await subject.store();
  assert.deepEqual(await krules.subject("s").dict(), { name: "s", ext: {} });
});

Deno.test("redis: a flush() the server refuses (NOPERM on DEL) emits nothing and keeps both the old cached changes and those made meanwhile", async () => {
  await using fixture = await startRedisFixture();
  await fixture.client.send([
    "ACL",
    "SETUSER",
    "nodel",
    "on",
    "nopass",
    "~*",
    "+@all",
    "-del",
  ]);
  const url = new URL(fixture.server.url);
  url.username = "nodel";
  url.password = "any";
  await using limited = await createRedisClient(url.href);
  const krules = new KRules({ storage: createRedisStorage(limited) });
  const events: string[] = [];
  krules.eventBus.on("*", (event: SubjectEvent) => {
    events.push(event.type);
  });
  const subject = krules.subject("s");
  await subject.set("stored", 1, { useCache: false });
  await subject.set("old", "cached");
  events.length = 0;
  const flushing = subject.flush();
  await subject.set("new", "meanwhile");
  await assert.rejects(flushing, /NOPERM/);
  assert.deepEqual(events, ["subject-property-changed"]);
  await subject.store();
  assert.deepEqual(await krules.subject("s").dict(), {
    name: "s",
    stored: 1,
    old: "cached",
    new: "meanwhile",
    ext: {},
  });
});
