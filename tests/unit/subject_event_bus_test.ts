import assert from "node:assert/strict";
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import { EventBus, type SubjectEvent } from "../../src/subject/event_bus.ts";
import { PayloadConst, SubjectEventType } from "../../src/subject/events.ts";
import { KRules } from "../../src/subject/krules.ts";

function subjectOn(eventBus: EventBus) {
  return new KRules({ storage: createMemoryStorage(), eventBus }).subject("s");
}

Deno.test("event bus: handlers run in registration order, each awaited before the next", async () => {
  const bus = new EventBus();
  const log: string[] = [];
  bus.on("*", async () => {
    log.push("first start");
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await Promise.resolve();
    log.push("first end");
  });
  bus.on("subject-property-changed", () => {
    log.push("second");
  });
  bus.on("*", async () => {
    await Promise.resolve();
    log.push("third");
  });
  await subjectOn(bus).set("a", 1);
  assert.deepEqual(log, ["first start", "first end", "second", "third"]);
});

Deno.test("event bus: a throwing handler goes to onError, the others still run, and set() resolves", async () => {
  const reported: [unknown, string][] = [];
  const bus = new EventBus({
    onError: (error, event) => reported.push([error, event.type]),
  });
  const log: string[] = [];
  const boom = new Error("boom");
  bus.on("*", () => {
    log.push("before");
  });
  bus.on("*", () => {
    throw boom;
  });
  bus.on("*", () => Promise.reject(new TypeError("async boom")));
  bus.on("*", () => {
    log.push("after");
  });
  const subject = subjectOn(bus);
  assert.deepEqual(await subject.set("a", 1), [1, undefined]);
  await subject.delete("a");
  assert.deepEqual(log, ["before", "after", "before", "after"]);
  assert.equal(reported.length, 4);
  assert.equal(reported[0][0], boom);
  assert.equal(reported[0][1], "subject-property-changed");
  assert.ok(reported[1][0] instanceof TypeError);
  assert.equal(reported[2][1], "subject-property-deleted");
  assert.equal(await subject.has("a"), false);
});

Deno.test("event bus: without onError, a handler's error is reported to console.error", async () => {
  const bus = new EventBus();
  bus.on("*", () => {
    throw new Error("boom");
  });
  const original = console.error;
  const printed: unknown[][] = [];
  console.error = (...args: unknown[]) => printed.push(args);
  try {
    await subjectOn(bus).set("a", 1);
  } finally {
    console.error = original;
  }
  assert.equal(printed.length, 1);
  assert.match(String(printed[0][0]), /"subject-property-changed".*"s"/);
  assert.equal((printed[0][1] as Error).message, "boom");
});

Deno.test("event bus: an onError that throws does not hide the error or stop emit", async () => {
  const bus = new EventBus({
    onError: () => {
      throw new Error("reporter broke");
    },
  });
  bus.on("*", () => {
    throw new Error("boom");
  });
  let ran = false;
  bus.on("*", () => {
    ran = true;
  });
  const original = console.error;
  const printed: unknown[][] = [];
  console.error = (...args: unknown[]) => printed.push(args);
  try {
    await subjectOn(bus).set("a", 1);
  } finally {
    console.error = original;
  }
  assert.equal(ran, true);
  assert.ok(printed[0][1] instanceof AggregateError);
});

Deno.test("event bus: the returned function unsubscribes, once and for all", async () => {
  const bus = new EventBus();
  const seen: string[] = [];
  const off = bus.on("*", (event) => {
    seen.push(event.type);
  });
  const subject = subjectOn(bus);
  await subject.set("a", 1);
  off();
  off();
  await subject.set("a", 2);
  assert.deepEqual(seen, ["subject-property-changed"]);
});

Deno.test("event bus: '*' matches every type, globs match by pattern, other types exactly", async () => {
  const bus = new EventBus();
  const seen: Record<string, string[]> = {
    all: [],
    property: [],
    exact: [],
    q: [],
  };
  bus.on("*", (e) => void seen.all.push(e.type));
  bus.on("subject-property-*", (e) => void seen.property.push(e.type));
  bus.on("subject-deleted", (e) => void seen.exact.push(e.type));
  bus.on("subject-delete?", (e) => void seen.q.push(e.type));
  bus.onCustom("subject.property.changed", (e) => void seen.exact.push(e.type));
  const subject = subjectOn(bus);
  await subject.set("a", 1);
  await subject.flush();
  await bus.emit("custom.event", subject, { any: "thing" });
  assert.deepEqual(seen, {
    all: [
      "subject-property-changed",
      "subject-property-deleted",
      "subject-deleted",
      "custom.event",
    ],
    property: ["subject-property-changed", "subject-property-deleted"],
    exact: ["subject-deleted"],
    q: ["subject-deleted"],
  });
});

Deno.test("event bus: emit passes type, subject, payload and extra to handlers", async () => {
  const bus = new EventBus();
  const events: SubjectEvent[] = [];
  bus.on("*", (event) => void events.push(event));
  const subject = subjectOn(bus);
  await bus.emit("user.login", subject, { ip: "1.2.3.4" }, { reason: "test" });
  await bus.emit("user.logout", subject, {});
  assert.deepEqual(events[0], {
    type: "user.login",
    subject,
    payload: { ip: "1.2.3.4" },
    extra: { reason: "test" },
  });
  assert.equal("extra" in events[1], false);
});

Deno.test("event bus: a handler registered during an emit takes effect from the next event", async () => {
  const bus = new EventBus();
  const log: string[] = [];
  bus.on("*", () => {
    log.push("outer");
    bus.on("*", () => void log.push("inner"));
  });
  const subject = subjectOn(bus);
  await bus.emit("x", subject, {});
  assert.deepEqual(log, ["outer"]);
  await bus.emit("x", subject, {});
  assert.deepEqual(log, ["outer", "outer", "inner"]);
});

Deno.test("handlers subscribed by SubjectEventType get a Subject's events, with payloads read by PayloadConst", async () => {
  const bus = new EventBus();
  const seen: unknown[] = [];
  for (const type of Object.values(SubjectEventType)) {
    bus.on(type, (event) => {
      // Read as plain data, the way a handler for any event type would.
      const payload: Record<string, unknown> = event.payload;
      seen.push([
        type,
        payload[PayloadConst.PROPERTY_NAME],
        payload[PayloadConst.VALUE],
        payload[PayloadConst.OLD_VALUE],
      ]);
    });
  }
  const subject = subjectOn(bus);
  await subject.set("a", 1);
  await subject.set("a", 2);
  await subject.delete("a");
  await subject.set("b", 3);
  await subject.flush();
  assert.deepEqual(seen, [
    // An absent old value is null, as Python sends it: the key stays in JSON.
    ["subject-property-changed", "a", 1, null],
    ["subject-property-changed", "a", 2, 1],
    ["subject-property-deleted", "a", undefined, 2],
    ["subject-property-changed", "b", 3, null],
    ["subject-property-deleted", "b", undefined, 3],
    ["subject-deleted", undefined, undefined, undefined],
  ]);
});

Deno.test("event bus: on() rejects a non-string type and a non-function handler", () => {
  const bus = new EventBus();
  assert.throws(() => bus.on(5 as never, () => {}), TypeError);
  assert.throws(() => bus.on("*", "handler" as never), TypeError);
});

Deno.test("event bus: a pattern matches whole event types only, every other character literally", async () => {
  // Each pattern with the types it must match and the ones it must not: a
  // pattern is anchored at both ends, `*` is any run (empty included), `?`
  // exactly one character (one code point), and everything else, the
  // regular-expression characters included, only itself.
  const cases: readonly [string, readonly string[], readonly string[]][] = [
    ["user.*", ["user.login", "user.", "user.a.b"], [
      "myuser.login",
      "xuser.login",
      "userXlogin",
      "user",
      "use.login",
    ]],
    ["*.login", ["user.login", ".login"], ["user.login.failed", "user.loginx"]],
    ["user.?", ["user.a", "user.🚀"], ["user.", "user.ab", "myuser.a"]],
    ["a?c", ["abc", "a.c"], ["ac", "abbc", "xabc", "abcx"]],
    ["*-deleted", ["subject-deleted"], ["subject-deleted-now"]],
    ["order(1)+[x]*", ["order(1)+[x]", "order(1)+[x].y"], [
      "order1[x]",
      "order(1)[x]",
      "order(1)+x",
      "order(11)+[x]",
    ]],
    ["a|b*", ["a|b", "a|bc"], ["a", "b", "bc"]],
    ["^$*", ["^$", "^$x"], ["", "x"]],
    ["multi\nline*", ["multi\nline", "multi\nline\nmore"], ["multi line"]],
    ["*\n*", ["a\nb", "\n"], ["ab"]],
  ];
  for (const [pattern, yes, no] of cases) {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.onCustom(pattern, (event) => void seen.push(event.type));
    const subject = subjectOn(bus);
    for (const type of [...yes, ...no]) await bus.emit(type, subject, {});
    assert.deepEqual(seen, yes, `pattern ${JSON.stringify(pattern)}`);
  }
});

Deno.test("event bus: a type without * or ? matches only itself, never a longer or shorter type", async () => {
  const bus = new EventBus();
  const seen: string[] = [];
  bus.onCustom("user.login", (event) => void seen.push(event.type));
  const subject = subjectOn(bus);
  for (
    const type of [
      "user.login",
      "myuser.login",
      "user.login.failed",
      "user.logi",
      "USER.LOGIN",
      "userXlogin",
    ]
  ) {
    await bus.emit(type, subject, {});
  }
  assert.deepEqual(seen, ["user.login"]);
});
