/**
 * The subject contract: what a `Subject` does over any storage that keeps the
 * storage contract — caching, one write per `store()`, events. Run over the
 * same backends as the storage contract (`contracts.ts` registers it).
 *
 * @module
 */
import assert from "node:assert/strict";
import { InvalidValueError } from "../../src/json/errors.ts";
import { PropertyNotFoundError } from "../../src/storage/errors.ts";
import type { SubjectEvent } from "../../src/subject/event_bus.ts";
import { KRules } from "../../src/subject/krules.ts";
import type { Backend, Contract } from "./storage_contract.ts";

const krulesOn = (b: Backend) => new KRules({ storage: b.storage });

/** The payloads of the `subject-property-changed` events, as they come. */
function changedPayloads(krules: KRules): unknown[] {
  const payloads: unknown[] = [];
  krules.eventBus.on("subject-property-changed", ({ payload }) => {
    payloads.push(payload);
  });
  return payloads;
}

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

  "store() writes each cached value as set() checked it, whatever happens to the object after":
    async (b) => {
      const krules = krulesOn(b);
      const subject = krules.subject("s");
      const profile: Record<string, unknown> = { tags: ["a"] };
      await subject.set("profile", profile);
      await subject.setMany({ copy: profile });
      await subject.setExt("meta", profile);
      // Changed after set(): still a value, then one JSON cannot store.
      (profile.tags as string[]).push("b");
      profile.when = new Date(0);
      await subject.store();
      assert.deepEqual(await krules.subject("s").dict(), {
        name: "s",
        profile: { tags: ["a"] },
        copy: { tags: ["a"] },
        ext: { meta: { tags: ["a"] } },
      });
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
      old_value: null,
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

  "setMany sets every property in one call, cached until store()": async (
    b,
  ) => {
    const krules = krulesOn(b);
    const events = changedPayloads(krules);
    const user = krules.subject("user");
    await user.set("same", 1);
    await user.setMany({ email: "a@b.c", logins: 1, same: 1 });
    await user.setExtMany({ tenant: "t1", region: "eu" });
    assert.deepEqual(await krules.subject("user").dict(), {
      name: "user",
      ext: {},
    });
    await user.store();
    assert.deepEqual(await krules.subject("user").dict(), {
      name: "user",
      email: "a@b.c",
      logins: 1,
      same: 1,
      ext: { tenant: "t1", region: "eu" },
    });
    // One event per property whose value changed; none for extended ones.
    assert.deepEqual(events, [
      { property_name: "same", old_value: null, value: 1 },
      { property_name: "email", old_value: null, value: "a@b.c" },
      { property_name: "logins", old_value: null, value: 1 },
    ]);
  },

  "setMany with useCache false writes every property at once, and reports the old values":
    async (
      b,
    ) => {
      const krules = krulesOn(b);
      const events = changedPayloads(krules);
      const user = krules.subject("user");
      await user.set("logins", 1, { useCache: false });
      assert.equal(await user.get("logins"), 1); // loads the cache
      await user.setMany({ logins: 2, email: "a@b.c" }, {
        useCache: false,
        extra: { why: "test" },
      });
      await user.setExtMany({ tenant: "t1" }, { useCache: false });
      // Written at once, and the loaded cache agrees.
      assert.deepEqual(await krules.subject("user").dict(), {
        name: "user",
        logins: 2,
        email: "a@b.c",
        ext: { tenant: "t1" },
      });
      assert.deepEqual(await user.dict(), await krules.subject("user").dict());
      assert.deepEqual(events, [
        { property_name: "logins", old_value: null, value: 1 },
        { property_name: "logins", old_value: 1, value: 2 },
        { property_name: "email", old_value: null, value: "a@b.c" },
      ]);
    },

  "setMany checks every value first: one bad value changes nothing": async (
    b,
  ) => {
    const krules = krulesOn(b);
    const user = krules.subject("user");
    await user.set("kept", 1, { useCache: false });
    for (const useCache of [true, false]) {
      await assert.rejects(
        user.setMany({ kept: 2, bad: new Date(0) }, { useCache }),
        InvalidValueError,
      );
      await assert.rejects(
        user.setExtMany({ fine: 1, bad: NaN }, { useCache }),
        InvalidValueError,
      );
    }
    await assert.rejects(
      user.setMany(null as never),
      TypeError,
    );
    await user.store();
    assert.deepEqual(await krules.subject("user").dict(), {
      name: "user",
      kept: 1,
      ext: {},
    });
  },

  "subjectNames lists the subjects with data that match, each once": async (
    b,
  ) => {
    const krules = krulesOn(b);
    // Enough subjects to land on every master of a cluster.
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    for (const name of [...users, "order-1", "glob*[x]"]) {
      await krules.subject(name).set("n", 1, { useCache: false });
    }
    // Cached only: no data yet, so not listed.
    await krules.subject("user-pending").set("n", 1);
    const list = async (match?: string) => {
      const names: string[] = [];
      for await (const name of krules.subjectNames({ match })) names.push(name);
      return names.sort();
    };
    assert.deepEqual(await list("user-*"), users.toSorted());
    assert.deepEqual(await list("order-?"), ["order-1"]);
    assert.deepEqual(await list("glob\\*\\[x]"), ["glob*[x]"]);
    assert.deepEqual((await list()).length, users.length + 2);
    assert.deepEqual(await list("nobody-*"), []);
    await krules.subject("order-1").flush();
    assert.deepEqual(await list("order-*"), []);
  },

  "expire(ms) deletes the subject after ms, ttl() reads it, expire(null) clears it":
    async (
      b,
    ) => {
      const krules = krulesOn(b);
      const kept = krules.subject("kept");
      // Nothing stored yet: nothing to expire.
      assert.equal(await kept.expire(60_000), false);
      assert.equal(await kept.ttl(), null);
      await kept.set("a", 1);
      await kept.store();
      assert.equal(await kept.ttl(), null);
      assert.equal(await kept.expire(60_000), true);
      const ttl = await kept.ttl();
      assert.ok(ttl !== null && ttl > 50_000 && ttl <= 60_000, String(ttl));
      // A write keeps the expiry; expire(null) clears it.
      await kept.set("b", 2, { useCache: false });
      assert.notEqual(await kept.ttl(), null);
      assert.equal(await kept.expire(null), true);
      assert.equal(await kept.ttl(), null);
      for (const bad of [0, -1, 1.5, NaN, "10" as never]) {
        await assert.rejects(kept.expire(bad), RangeError);
      }

      const brief = krules.subject("brief");
      await brief.set("a", 1, { useCache: false });
      assert.equal(await brief.expire(20), true);
      // Waits on the condition, in bounded steps, not on a guessed delay.
      for (let i = 0; i < 200 && await brief.ttl() !== null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.deepEqual(await krules.subject("brief").dict(), {
        name: "brief",
        ext: {},
      });
      assert.deepEqual(await krules.subject("kept").dict(), {
        name: "kept",
        a: 1,
        b: 2,
        ext: {},
      });
    },

  "cached function sets of two subjects of one name both count": async (b) => {
    const first = krulesOn(b).subject("c");
    const second = new KRules({ storage: await b.reopen() }).subject("c");
    const increment = (n: unknown) => ((n as number) ?? 0) + 1;
    // Both load n (absent), both increment it in their cache.
    assert.equal(await first.get("n", { default: 0 }), 0);
    assert.equal(await second.get("n", { default: 0 }), 0);
    await first.set("n", increment);
    await second.set("n", increment);
    await first.setExt("x", (x) => [...((x as number[]) ?? []), 1]);
    await second.setExt("x", (x) => [...((x as number[]) ?? []), 2]);
    await first.store();
    await second.store();
    const stored = krulesOn(b).subject("c");
    assert.equal(await stored.get("n"), 2);
    assert.deepEqual(await stored.getExt("x"), [1, 2]);
  },

  "every cached function set since the load is applied again, in order, to the value another writer stored":
    async (b) => {
      const krules = krulesOn(b);
      const mine = krules.subject("c");
      await mine.set("n", 1, { useCache: false });
      await mine.set("gone", 1, { useCache: false });
      await mine.set("d", 1, { useCache: false });
      await mine.set("n", (n) => (n as number) + 1);
      await mine.set("n", (n) => (n as number) * 10);
      await mine.set("gone", (n) => ((n as number) ?? 0) + 1);
      await mine.delete("d");
      const other = new KRules({ storage: await b.reopen() }).subject("c");
      await other.set("n", 5);
      await other.delete("gone");
      await other.store();
      await mine.store();
      assert.deepEqual(await krulesOn(b).subject("c").dict(), {
        name: "c",
        n: 60,
        gone: 1,
        ext: {},
      });
      assert.equal(await mine.get("n"), 60);
    },

  "a plain cached set keeps last-writer-wins, before or after a function set":
    async (b) => {
      const mine = krulesOn(b).subject("c");
      assert.equal(await mine.get("a", { default: null }), null);
      await mine.set("a", (n) => ((n as number) ?? 0) + 1);
      await mine.set("a", 7);
      await mine.set("b", 3);
      await mine.set("b", (n) => (n as number) + 1);
      const other = new KRules({ storage: await b.reopen() }).subject("c");
      await other.setMany({ a: 100, b: 100 });
      await other.store();
      await mine.store();
      const stored = krulesOn(b).subject("c");
      assert.equal(await stored.get("a"), 7);
      assert.equal(await stored.get("b"), 4);
    },

  "a function applied again at store() emits no second event: the one of set() stands":
    async (b) => {
      const krules = krulesOn(b);
      const payloads = changedPayloads(krules);
      const mine = krules.subject("c");
      assert.equal(await mine.get("n", { default: 0 }), 0);
      await mine.set("n", (n) => ((n as number) ?? 0) + 1);
      const other = new KRules({ storage: await b.reopen() }).subject("c");
      await other.set("n", 10);
      await other.store();
      await mine.store();
      assert.equal(await krulesOn(b).subject("c").get("n"), 11);
      assert.deepEqual(payloads, [
        { property_name: "n", old_value: null, value: 1 },
      ]);
    },

  "a subject deleted and written again has no expiry: none survives its deletion, in any form":
    async (b) => {
      const krules = krulesOn(b);
      const expiring = async (name: string) => {
        const subject = krules.subject(name);
        await subject.set("a", 1, { useCache: false });
        assert.equal(await subject.expire(60_000), true);
        assert.notEqual(await subject.ttl(), null);
        return subject;
      };
      // Each way a subject's data can disappear, as Redis deletes the hash
      // (and with it the key's expiry) when its last field goes.
      const deletions: Record<string, (name: string) => Promise<void>> = {
        "flush()": async (name) => {
          await (await expiring(name)).flush();
        },
        "a direct delete of its last property": async (name) => {
          await (await expiring(name)).delete("a", { useCache: false });
        },
        "a store() that deletes its last property": async (name) => {
          const subject = await expiring(name);
          await subject.delete("a");
          await subject.store();
        },
        "its expiry passing": async (name) => {
          const subject = krules.subject(name);
          await subject.set("a", 1, { useCache: false });
          assert.equal(await subject.expire(20), true);
          // Waits on the condition, in bounded steps, not on a guessed delay.
          for (let i = 0; i < 400 && await subject.ttl() !== null; i++) {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          assert.equal(await subject.ttl(), null);
        },
      };
      for (const [how, remove] of Object.entries(deletions)) {
        const name = `again ${how}`;
        await remove(name);
        assert.deepEqual(
          await krules.subject(name).dict(),
          { name, ext: {} },
          how,
        );
        // Written again, by each kind of write: the old expiry is gone.
        const direct = krules.subject(name);
        await direct.set("b", 2, { useCache: false });
        assert.deepEqual(
          await krules.subject(name).dict(),
          { name, b: 2, ext: {} },
          `${how}, then a direct set`,
        );
        assert.equal(await direct.ttl(), null, `${how}, then a direct set`);
        await direct.flush();
        const cached = krules.subject(name);
        await cached.set("c", 3);
        await cached.store();
        assert.equal(await cached.ttl(), null, `${how}, then store()`);
        assert.deepEqual(
          await krules.subject(name).dict(),
          { name, c: 3, ext: {} },
          how,
        );
      }
    },

  "a missing property's error names the subject, and a failed delete does not suggest get()":
    async (
      b,
    ) => {
      const subject = krulesOn(b).subject("user-9");
      for (const useCache of [true, false]) {
        await assert.rejects(subject.get("email", { useCache }), (error) => {
          assert.ok(error instanceof PropertyNotFoundError);
          assert.equal(error.subject, "user-9");
          assert.equal(error.property, "email");
          assert.match(error.message, /"email" of subject "user-9".*get\(\)/);
          return true;
        });
        await assert.rejects(subject.delete("email", { useCache }), (error) => {
          assert.ok(error instanceof PropertyNotFoundError);
          assert.equal(error.subject, "user-9");
          assert.match(
            error.message,
            /Cannot delete property "email" of subject "user-9"/,
          );
          assert.doesNotMatch(error.message, /default/);
          return true;
        });
      }
    },
};
