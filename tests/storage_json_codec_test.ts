import assert from "node:assert/strict";
import { CorruptValueError, InvalidValueError } from "../src/json/errors.ts";
import { decodeValue, encodeValue } from "../src/json/codec.ts";

Deno.test("codec: plain JSON data encodes to the same text as JSON.stringify and decodes back equal", () => {
  const shared = { s: "shared" };
  const values: unknown[] = [
    "",
    'é🚀\n"',
    0,
    -1.5,
    Number.MAX_VALUE,
    true,
    null,
    [],
    {},
    [1, [2, [3, { four: 4 }]]],
    { a: shared, b: shared }, // the same object twice is not a cycle
    Object.assign(Object.create(null), { a: 1 }),
  ];
  for (const value of values) {
    const text = encodeValue("v", value);
    assert.equal(text, JSON.stringify(value));
    assert.deepEqual(
      decodeValue("k", "pv", text),
      JSON.parse(JSON.stringify(value)),
    );
  }
});

Deno.test("codec: -0 is stored as 0", () => {
  assert.equal(encodeValue("v", -0), "0");
});

Deno.test("codec: a rejected value's error names the property, the path and a fix", () => {
  assert.throws(
    () => encodeValue("profile", { tags: ["a", { when: new Date() }] }),
    (error) => {
      assert.ok(error instanceof InvalidValueError);
      assert.equal(
        error.message,
        'Cannot store property "profile": value.tags[1].when is a Date, which JSON reads back as a string. Store date.toISOString() or date.getTime() instead.',
      );
      return true;
    },
  );
});

Deno.test("codec: objects with toJSON, boxed primitives and subclassed arrays are rejected", () => {
  class Money {
    toJSON() {
      return "1 EUR";
    }
  }
  class List extends Array {}
  for (
    const value of [
      new Money(),
      new String("s"),
      new Number(1),
      List.from([1]),
      /re/,
    ]
  ) {
    assert.throws(() => encodeValue("v", value), InvalidValueError);
  }
  assert.throws(
    () => encodeValue("v", { toJSON: () => 1 }),
    /value\.toJSON is a function/,
  );
});

Deno.test("codec: invalid JSON text is a CorruptValueError naming key and field, with the parse error as cause", () => {
  assert.throws(() => decodeValue("s:app:u", "pname", "{oops"), (error) => {
    assert.ok(error instanceof CorruptValueError);
    assert.equal(error.name, "CorruptValueError");
    assert.equal(error.key, "s:app:u");
    assert.equal(error.field, "pname");
    assert.ok(error.cause instanceof SyntaxError);
    assert.match(error.message, /redis-cli HGET/);
    return true;
  });
});
