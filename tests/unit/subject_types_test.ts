/**
 * The typed API, proven by the type checker: every line marked
 * `@ts-expect-error` must fail to compile, or `deno check` (part of
 * `deno task check`) fails. The test also runs the calls, over the memory
 * storage, so what compiles behaves as its types say.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  RedisEventTarget,
  RedisReconnectingEvent,
} from "../../src/client/events.ts";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import { EventBus } from "../../src/subject/event_bus.ts";
import { KRules } from "../../src/subject/krules.ts";
import type { StorableProps } from "../../src/subject/props.ts";
import type { Subject } from "../../src/subject/subject.ts";

interface User {
  email: string;
  logins: number;
  tags: string[];
}

Deno.test("types: a typed subject types get, set, setMany, dict and the events", async () => {
  const krules = new KRules({ storage: createMemoryStorage() });
  const user = krules.subject<User>("user-1");
  // Calls that must not compile run here, away from the values asserted on.
  const scratch = krules.subject<User>("scratch");

  const [logins, before] = await user.set("logins", (n) => (n ?? 0) + 1);
  const count: number = logins;
  const previous: number | undefined = before;
  assert.equal(count, 1);
  assert.equal(previous, undefined);
  // @ts-expect-error: logins is a number
  await scratch.set("logins", "many").catch(() => {});
  // @ts-expect-error: no such property
  await scratch.set("nickname", "x").catch(() => {});
  // @ts-expect-error: the function gets number | undefined, and must return a number
  await scratch.set("logins", (n: string) => n).catch(() => {});

  await user.setMany({ email: "ada@example.com", tags: ["a"] });
  // @ts-expect-error: tags is a string[]
  await scratch.setMany({ tags: "a" }).catch(() => {});

  const email: string = await user.get("email");
  const tags: string[] | null = await user.get("tags", { default: null });
  assert.equal(email, "ada@example.com");
  assert.deepEqual(tags, ["a"]);
  // @ts-expect-error: email is a string, not a number
  const wrong: number = await user.get("email");
  assert.equal(typeof wrong, "string");
  // @ts-expect-error: no such property
  await scratch.get("nickname").catch(() => {});

  const dict = await user.dict();
  const name: string = dict.name;
  const maybeLogins: number | undefined = dict.logins;
  assert.deepEqual([name, maybeLogins], ["user-1", 1]);
  // @ts-expect-error: dict() has no such property
  assert.equal(dict.nickname, undefined);
});

Deno.test("types: an untyped subject takes any name, and get<T> says what a value is", async () => {
  const krules = new KRules({ storage: createMemoryStorage() });
  const subject = krules.subject("any");
  await subject.set("n", 1);
  await subject.set("n", (old) => (typeof old === "number" ? old : 0) + 1);
  const n: number = await subject.get<number>("n");
  const value: unknown = await subject.get("n");
  assert.equal(n, 2);
  assert.equal(value, 2);
  // @ts-expect-error: without a type argument the value is unknown
  const notKnown: number = await subject.get("n");
  assert.equal(notKnown, 2);
});

Deno.test("types: the untyped increment compiles as written, and adds up", async () => {
  const krules = new KRules({ storage: createMemoryStorage() });
  const user = krules.subject("user-1");
  await user.set("n", (n) => (n ?? 0) + 1, { useCache: false });
  await user.set("n", (n) => (n ?? 0) + 1, { useCache: false });
  const [cached] = await user.set("n", (n) => (n ?? 0) + 1);
  await user.setExt("visits", (n) => (n ?? 0) + 1, { useCache: false });
  assert.equal(cached, 3);
  await user.store();
  assert.equal(await user.get("n", { useCache: false }), 3);
  assert.equal(await user.getExt("visits"), 1);
  // Only the function's argument is loose: get() still says unknown, so a
  // value read is checked or typed before use.
  // @ts-expect-error: without a type argument the value is unknown
  const sum: number = (await user.get("n")) + 1;
  assert.equal(sum, 4);
});

Deno.test("types: delete, has, deleteExt and hasExt take only the subject's property names", async () => {
  interface Device {
    temperature: number;
    label: string;
  }
  interface DeviceExt {
    firmware: string;
  }
  const krules = new KRules({ storage: createMemoryStorage() });
  const device = krules.subject<Device, DeviceExt>("device-1");
  const scratch = krules.subject<Device, DeviceExt>("scratch");
  await device.setMany({ temperature: 21.5, label: "hall" });
  await device.setExt("firmware", "1.2");

  assert.equal(await device.has("temperature"), true);
  assert.equal(await device.hasExt("firmware"), true);
  // @ts-expect-error: a misspelt property name
  await scratch.has("temprature");
  // @ts-expect-error: an extended name is not a default property
  await scratch.has("firmware");
  // @ts-expect-error: a misspelt extended property name
  await scratch.hasExt("firmwre");
  // @ts-expect-error: no such property
  await scratch.delete("temprature").catch(() => {});
  // @ts-expect-error: no such extended property
  await scratch.deleteExt("temperature").catch(() => {});
  // @ts-expect-error: firmware is a string
  await scratch.setExt("firmware", 12).catch(() => {});
  // @ts-expect-error: no such extended property
  await scratch.getExt("firmwre").catch(() => {});

  const firmware: string = await device.getExt("firmware");
  const ext: { firmware?: string } = await device.getExtProps();
  assert.deepEqual([firmware, ext], ["1.2", { firmware: "1.2" }]);
  await device.delete("temperature");
  await device.deleteExt("firmware");
  assert.deepEqual(await device.dict(), {
    name: "device-1",
    label: "hall",
    ext: {},
  });

  // Untyped, every name is taken.
  const any = krules.subject("any");
  await any.set("x", 1);
  assert.equal(await any.has("x"), true);
  await any.delete("x");
  assert.equal(await any.hasExt("y"), false);
});

Deno.test("types: a Props type whose values JSON does not store does not compile", async () => {
  const krules = new KRules({ storage: createMemoryStorage() });
  interface Address {
    street: string;
    zip?: string;
  }
  interface Profile {
    email: string;
    address: Address;
    history: { at: string; logins: number[] }[];
    pair: [number, string];
    nickname?: string;
    meta: unknown;
    extra: Record<string, unknown>;
    status: "on" | "off" | null;
  }
  interface TreeNode {
    label: string;
    children: TreeNode[];
  }
  type Json = string | number | boolean | null | Json[] | {
    [key: string]: Json;
  };
  // Interfaces, nested ones, optional properties, tuples, recursive types.
  krules.subject<Profile>("ok-1");
  krules.subject<{ tree: TreeNode; json: Json }>("ok-2");
  krules.subject<Profile, { seen: string[] }>("ok-3");

  // @ts-expect-error: a Date reads back as a string
  krules.subject<{ when: Date }>("bad");
  // @ts-expect-error: JSON cannot store a bigint
  krules.subject<{ big: bigint }>("bad");
  // @ts-expect-error: a Map is written as {}
  krules.subject<{ byId: Map<string, number> }>("bad");
  // @ts-expect-error: a Set is written as {}
  krules.subject<{ ids: Set<string> }>("bad");
  // @ts-expect-error: a function is not data
  krules.subject<{ onChange: () => void }>("bad");
  // @ts-expect-error: a value that can only be undefined is never stored
  krules.subject<{ gone: undefined }>("bad");
  // @ts-expect-error: JSON cannot store a symbol
  krules.subject<{ tag: symbol }>("bad");
  // @ts-expect-error: a Date deep inside
  krules.subject<{ history: { at: Date }[] }>("bad");
  // @ts-expect-error: a Date in a union
  krules.subject<{ at?: string | Date }>("bad");
  // @ts-expect-error: a Promise is not its value
  krules.subject<{ later: Promise<number> }>("bad");
  // @ts-expect-error: the extended properties follow the same rule
  krules.subject<Profile, { seen: Date }>("bad");
  // @ts-expect-error: a class instance with methods
  krules.subject<{ url: URL }>("bad");

  // A Props type may hold bigint only over a storage that stores BigInt
  // values: one created with unsafeIntegers: "bigint", which says so.
  const exact = new KRules({
    storage: createMemoryStorage({ unsafeIntegers: "bigint" }),
  });
  const big = exact.subject<{ big: bigint; ids: bigint[] }, { total: bigint }>(
    "ok-5",
  );
  await big.set("big", 2n ** 60n + 1n, { useCache: false });
  assert.equal(await big.get("big", { useCache: false }), 2n ** 60n + 1n);
  // @ts-expect-error: a Date is still refused there
  exact.subject<{ big: bigint; when: Date }>("bad");
  const plain: KRules = krules;
  // @ts-expect-error: a storage that says nothing refuses bigint
  plain.subject<{ big: bigint }>("bad");
  const anyStorage: KRules = exact;
  assert.equal(anyStorage.subject("x").name, "x");

  // A helper generic over Props states the same constraint.
  const open = <P extends StorableProps<P>>(name: string): Subject<P> =>
    krules.subject<P>(name);
  assert.equal(open<Profile>("ok-4").name, "ok-4");
});

Deno.test("types: client event names are checked, and each listener gets its event's type", () => {
  const target = new RedisEventTarget();
  const seen: string[] = [];
  const listener = (event: RedisReconnectingEvent) => {
    seen.push(`attempt ${event.attempt} in ${event.delayMs} ms`);
  };
  target.addEventListener("reconnecting", listener);
  target.addEventListener("error", (event) => {
    seen.push(event.error.message);
  });
  // @ts-expect-error: a misspelt event type
  target.addEventListener("reconect", () => {});
  // @ts-expect-error: a disconnect event has no attempt number
  target.addEventListener("disconnect", (event) => seen.push(event.attempt));
  target.dispatchEvent(
    new RedisReconnectingEvent({ address: "x:1", attempt: 2, delayMs: 50 }),
  );
  target.removeEventListener("reconnecting", listener);
  // @ts-expect-error: a misspelt event type
  target.removeEventListener("reconect", listener);
  target.dispatchEvent(
    new RedisReconnectingEvent({ address: "x:1", attempt: 3, delayMs: 90 }),
  );
  assert.deepEqual(seen, ["attempt 2 in 50 ms"]);
});

Deno.test("types: on() knows the subject events and their payloads; a typo does not compile", async () => {
  const bus = new EventBus();
  const seen: string[] = [];
  bus.on("subject-property-changed", ({ payload }) => {
    const property: string = payload.property_name;
    seen.push(`${property}=${payload.value}`);
  });
  bus.on("subject-deleted", ({ payload }) => {
    seen.push(`deleted ${Object.keys(payload.props).join(",")}`);
  });
  bus.on("subject-property-*", ({ type }) => {
    seen.push(type);
  });
  bus.onCustom("order.shipped", ({ payload }) => {
    seen.push(`shipped ${payload.id}`);
  });
  // @ts-expect-error: a misspelt event type
  bus.on("subject-property-changd", () => {});
  bus.on("subject-property-deleted", ({ payload }) => {
    // @ts-expect-error: a deletion has no new value
    seen.push(String(payload.value));
  });

  const krules = new KRules({ storage: createMemoryStorage(), eventBus: bus });
  const subject = krules.subject("s");
  await subject.set("a", 1);
  await subject.flush();
  await bus.emit("order.shipped", subject, { id: 7 });
  assert.deepEqual(seen, [
    "a=1",
    "subject-property-changed",
    "subject-property-deleted",
    "undefined",
    "deleted a",
    "shipped 7",
  ]);
});

// Compiled apart, by `deno check`, because each line must fail: what is
// checked is what the compiler says about them.
const MISMATCHED_CALLS = `
import { RedisEventTarget } from "SRC/client/events.ts";
import { createMemoryStorage } from "SRC/storage/memory_storage.ts";
import { EventBus } from "SRC/subject/event_bus.ts";
import { KRules } from "SRC/subject/krules.ts";
const user = new KRules({ storage: createMemoryStorage() })
  .subject<{ logins: number }, { seen: string }>("user-1");
await user.set("logins", "many");
await user.set("logins", (n: string) => n.length);
await user.get("login");
await user.setExt("seen", 1);
await user.getExt("sen");
new EventBus().on("subject-property-changd", () => {});
new RedisEventTarget().addEventListener("reconect", () => {});
`;

Deno.test("types: a mismatched call names the mismatch, without TS2793 about invisible implementations", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/mismatched.ts`;
    const src = new URL("../../src", import.meta.url).href;
    await Deno.writeTextFile(file, MISMATCHED_CALLS.replaceAll("SRC", src));
    const { code, stdout, stderr } = await new Deno.Command("deno", {
      args: [
        "check",
        "--no-lock",
        "--config",
        new URL("../../deno.json", import.meta.url).pathname,
        file,
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(stdout) +
      new TextDecoder().decode(stderr);
    assert.notEqual(code, 0, output);
    assert.ok(!output.includes("TS2793"), output);
    // One error per mismatched call, at its line (related notes are
    // indented further, and are not counted).
    const lines = [...output.matchAll(/^ {4}at \S*mismatched\.ts:(\d+):/gm)]
      .map((match) => Number(match[1]));
    assert.deepEqual(lines, [8, 9, 10, 11, 12, 13, 14], output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
