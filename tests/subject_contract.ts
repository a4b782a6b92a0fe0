/**
 * The subject contract: what a `Subject` does over any storage that keeps the
 * storage contract — caching, one write per `store()`, events. Run over the
 * same backends as the storage contract (`contracts.ts` registers it).
 *
 * @module
 */
import assert from "node:assert/strict";
import { PropertyNotFoundError } from "../src/storage/errors.ts";
import type { SubjectEvent } from "../src/subject/event_bus.ts";
import { KRules } from "../src/subject/krules.ts";
import type { Backend, Contract } from "./storage_contract.ts";

const krulesOn = (b: Backend) => new KRules({ storage: b.storage });

/** The subject contract, test by test. */
export const SUBJECT_CONTRACT: Contract = {
  "cached sets reach storage only on store(), in one write": async (b) => {
    const krules = krulesOn(b);
    const user = krules.subject("user-123");
    await user.set("name", "John");
    await user.setExt("tenant", "t1");
    assert.deepEqual(await krules.subject("user-123").dict(), {
      name: "user-123",
      ext: {},
    });
    await user.store();
    assert.deepEqual(await krules.subject("user-123").dict(), {
      name: "John",
      ext: { tenant: "t1" },
    });
  },

  "persists across KRules instances and connections": async (b) => {
    const first = krulesOn(b).subject("device-456");
    await first.set("temperature", 75.5);
    await first.set("status", "online");
    await first.store();
    const second = new KRules({ storage: await b.reopen() }).subject(
      "device-456",
    );
    assert.equal(await second.get("temperature"), 75.5);
    assert.deepEqual((await second.keys()).sort(), ["status", "temperature"]);
  },

  "store() drops the cache, so the next read sees other writers": async (b) => {
    const krules = krulesOn(b);
    const mine = krules.subject("s");
    await mine.set("a", 1);
    await mine.store();
    const other = krules.subject("s");
    await other.set("a", 2);
    await other.store();
    assert.equal(await mine.get("a"), 2);
    // Without a store() in between, the loaded cache keeps serving reads.
    await other.set("a", 3);
    await other.store();
    assert.equal(await mine.get("a"), 2);
    await mine.store();
    assert.equal(await mine.get("a"), 3);
  },

  "store() writes exactly the created, updated and deleted properties": async (
    b,
  ) => {
    const krules = krulesOn(b);
    const seed = krules.subject("s");
    await seed.set("keep", "k");
    await seed.set("change", 1);
    await seed.set("remove", true);
    await seed.setExt("x", "ext");
    await seed.store();
    const subject = krules.subject("s");
    await subject.set("change", 2);
    await subject.delete("remove");
    await subject.set("new", "n");
    await subject.deleteExt("x");
    // Another writer changes an untouched property meanwhile; store() must not revert it.
    const other = krules.subject("s");
    await other.set("keep", "changed elsewhere");
    await other.store();
    await subject.store();
    assert.deepEqual(await krules.subject("s").dict(), {
      name: "s",
      keep: "changed elsewhere",
      change: 2,
      new: "n",
      ext: {},
    });
  },

  "get of a missing property rejects unless a default is given": async (b) => {
    const subject = krulesOn(b).subject("s");
    await assert.rejects(subject.get("missing"), PropertyNotFoundError);
    await assert.rejects(subject.getExt("missing"), PropertyNotFoundError);
    assert.equal(await subject.get("missing", { default: 0 }), 0);
    assert.equal(await subject.get("missing", { default: null }), null);
    assert.equal(
      await subject.get("missing", { default: undefined }),
      undefined,
    );
    assert.equal(await subject.getExt("missing", { default: "d" }), "d");
    assert.equal(
      await subject.get("missing", { default: 1, useCache: false }),
      1,
    );
    await assert.rejects(
      subject.get("missing", { useCache: false }),
      PropertyNotFoundError,
    );
  },

  "deleting a missing property rejects with PropertyNotFoundError": async (
    b,
  ) => {
    const subject = krulesOn(b).subject("s");
    await assert.rejects(subject.delete("missing"), PropertyNotFoundError);
    await assert.rejects(subject.deleteExt("missing"), PropertyNotFoundError);
    await assert.rejects(
      subject.delete("missing", { useCache: false }),
      PropertyNotFoundError,
    );
  },

  "useCache false writes through at once and refreshes a loaded cache": async (
    b,
  ) => {
    const krules = krulesOn(b);
    const subject = krules.subject("s");
    await subject.set("cached", "c");
    assert.deepEqual(await subject.set("direct", 1, { useCache: false }), [
      1,
      undefined,
    ]);
    assert.equal(await krules.subject("s").get("direct"), 1);
    assert.equal(await subject.get("direct"), 1);
    assert.deepEqual(
      await subject.set("direct", (n: number) => n + 1, { useCache: false }),
      [2, 1],
    );
    assert.equal(await subject.get("direct"), 2);
    // The direct write is not a pending change: store() must not write it
    // back over a newer value from another writer.
    await krules.subject("s").set("direct", 100, { useCache: false });
    await subject.store();
    assert.equal(await krules.subject("s").get("direct"), 100);
    assert.equal(await krules.subject("s").get("cached"), "c");
  },

  "useCache false reads and deletes go to storage": async (b) => {
    const krules = krulesOn(b);
    const subject = krules.subject("s");
    await subject.set("a", 1);
    await subject.store();
    assert.equal(await subject.get("a"), 1);
    await krules.subject("s").set("a", 2, { useCache: false });
    assert.equal(
      await subject.get("a"),
      1,
      "the cache still holds the old value",
    );
    assert.equal(await subject.get("a", { useCache: false }), 2);
    assert.equal(
      await subject.get("a"),
      2,
      "the direct read refreshed the cache",
    );
    await subject.delete("a", { useCache: false });
    assert.equal(await subject.has("a"), false);
    await assert.rejects(krules.subject("s").get("a"), PropertyNotFoundError);
    await subject.setExt("x", 1, { useCache: false });
    assert.equal(await subject.getExt("x", { useCache: false }), 1);
    await subject.deleteExt("x", { useCache: false });
    assert.equal(await subject.hasExt("x"), false);
  },

  "useCacheDefault false makes every call go to storage": async (b) => {
    const krules = krulesOn(b);
    const subject = krules.subject("s", { useCacheDefault: false });
    await subject.set("a", 1);
    await subject.setExt("b", 2);
    assert.deepEqual(await krules.subject("s").dict(), {
      name: "s",
      a: 1,
      ext: { b: 2 },
    });
  },

  "has, hasExt, keys and getExtProps read the cache": async (b) => {
    const subject = krulesOn(b).subject("s");
    await subject.set("a", 1);
    await subject.set("b", null);
    await subject.setExt("t", "x");
    assert.equal(await subject.has("a"), true);
    assert.equal(await subject.has("b"), true);
    assert.equal(await subject.has("t"), false);
    assert.equal(await subject.hasExt("t"), true);
    assert.deepEqual(await subject.keys(), ["a", "b"]);
    assert.deepEqual(await subject.getExtProps(), { t: "x" });
  },

  "dict() is { name, ...props, ext }": async (b) => {
    const krules = krulesOn(b);
    const subject = krules.subject("user-123");
    await subject.set("email", "john@example.com");
    await subject.set("age", 30);
    await subject.setExt("tenant_id", "t-1");
    const expected = {
      name: "user-123",
      email: "john@example.com",
      age: 30,
      ext: { tenant_id: "t-1" },
    };
    assert.deepEqual(await subject.dict(), expected);
    await subject.store();
    assert.deepEqual(await krules.subject("user-123").dict(), expected);
  },

  "a cached function set sees the old value and may mutate its copy": async (
    b,
  ) => {
    const subject = krulesOn(b).subject("s");
    await subject.set("list", [1]);
    const [value, old] = await subject.set("list", (l: number[]) => {
      l.push(2);
      return l;
    });
    assert.deepEqual(old, [1]);
    assert.deepEqual(value, [1, 2]);
    assert.deepEqual(await subject.get("list"), [1, 2]);
  },

  "set emits subject-property-changed with its payload and extra": async (
    b,
  ) => {
    const krules = krulesOn(b);
    const events: SubjectEvent[] = [];
    krules.eventBus.on("*", (event) => {
      events.push(event);
    });
    const subject = krules.subject("user-1");
    await subject.set("status", "active", { extra: { reason: "login" } });
    await subject.store();
    await subject.set("status", "idle", { useCache: false });
    assert.equal(events.length, 2);
    assert.equal(events[0].type, "subject-property-changed");
    assert.equal(events[0].subject, subject);
    assert.deepEqual(events[0].payload, {
      property_name: "status",
      old_value: undefined,
      value: "active",
    });
    assert.deepEqual(events[0].extra, { reason: "login" });
    assert.deepEqual(events[1].payload, {
      property_name: "status",
      old_value: "active",
      value: "idle",
    });
    assert.equal(events[1].extra, undefined);
  },

  "a set that changes nothing (deep equality) emits nothing": async (b) => {
    const krules = krulesOn(b);
    const events: SubjectEvent[] = [];
    krules.eventBus.on("subject-property-changed", (event) => {
      events.push(event);
    });
    const subject = krules.subject("s");
    await subject.set("obj", { a: [1, { b: 2 }], c: null });
    await subject.set("obj", { c: null, a: [1, { b: 2 }] });
    await subject.set("obj", (o: unknown) => o);
    await subject.store();
    await subject.set("obj", { a: [1, { b: 2 }], c: null }, {
      useCache: false,
    });
    assert.equal(events.length, 1);
    await subject.set("obj", { a: [1, { b: 3 }], c: null });
    assert.equal(events.length, 2);
  },

  "muted set and delete emit nothing": async (b) => {
    const krules = krulesOn(b);
    const events: SubjectEvent[] = [];
    krules.eventBus.on("*", (event) => {
      events.push(event);
    });
    const subject = krules.subject("s");
    await subject.set("a", 1, { muted: true });
    await subject.set("a", 2, { muted: true, useCache: false });
    await subject.delete("a", { muted: true });
    await subject.setExt("x", 1);
    await subject.deleteExt("x");
    assert.deepEqual(events, []);
  },

  "delete emits subject-property-deleted with the old value": async (b) => {
    const krules = krulesOn(b);
    const events: SubjectEvent[] = [];
    krules.eventBus.on("subject-property-deleted", (event) => {
      events.push(event);
    });
    const subject = krules.subject("s");
    await subject.set("a", { v: 1 });
    await subject.set("b", 2);
    await subject.store();
    await subject.delete("a", { extra: { why: "expired" } });
    await subject.delete("b", { useCache: false });
    assert.deepEqual(events.map((event) => [event.payload, event.extra]), [
      [{ property_name: "a", old_value: { v: 1 } }, { why: "expired" }],
      [{ property_name: "b", old_value: 2 }, undefined],
    ]);
  },

  "flush emits a deletion per property, then subject-deleted, and empties storage":
    async (b) => {
      const krules = krulesOn(b);
      const subject = krules.subject("device-456");
      await subject.set("email", "user@example.com");
      await subject.set("age", 30);
      await subject.setExt("tenant", "t1");
      await subject.store();
      const events: SubjectEvent[] = [];
      krules.eventBus.on("*", (event) => {
        events.push(event);
      });
      const flushing = krules.subject("device-456");
      assert.equal(await flushing.flush(), flushing);
      assert.deepEqual(events.map((event) => [event.type, event.payload]), [
        ["subject-property-deleted", {
          property_name: "email",
          old_value: "user@example.com",
        }],
        ["subject-property-deleted", { property_name: "age", old_value: 30 }],
        ["subject-property-deleted", {
          property_name: "tenant",
          old_value: "t1",
        }],
        ["subject-deleted", {
          props: { email: "user@example.com", age: 30 },
          ext_props: { tenant: "t1" },
        }],
      ]);
      assert.deepEqual(await b.storage("device-456").load(), [{}, {}]);
      assert.deepEqual(await flushing.dict(), { name: "device-456", ext: {} });
    },

  "flush of an empty subject still emits subject-deleted": async (b) => {
    const krules = krulesOn(b);
    const payloads: unknown[] = [];
    krules.eventBus.on("subject-deleted", (event) => {
      payloads.push(event.payload);
    });
    await krules.subject("empty").flush();
    assert.deepEqual(payloads, [{ props: {}, ext_props: {} }]);
  },

  "eventInfo() returns what KRules.subject was given": (b) => {
    const krules = krulesOn(b);
    const info = { type: "user.login", source: "web" };
    assert.equal(krules.subject("s", { eventInfo: info }).eventInfo(), info);
    assert.deepEqual(krules.subject("s").eventInfo(), {});
  },
};
