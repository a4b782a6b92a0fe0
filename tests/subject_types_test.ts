/**
 * The typed API, proven by the type checker: every line marked
 * `@ts-expect-error` must fail to compile, or `deno check` (part of
 * `deno task check`) fails. The test also runs the calls, over the memory
 * storage, so what compiles behaves as its types say.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createMemoryStorage } from "../src/storage/memory_storage.ts";
import { EventBus } from "../src/subject/event_bus.ts";
import { KRules } from "../src/subject/krules.ts";

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
