import assert from "node:assert/strict";
import {
  CorruptValueError,
  type CorruptValueReason,
  InvalidValueError,
} from "../../src/json/errors.ts";
import {
  copyValue,
  decodeValue,
  encodeValue,
  FieldText,
} from "../../src/json/codec.ts";
import { jsonEqual } from "../../src/json/equal.ts";

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

Deno.test("codec: a number alone is written as JSON writes it inside a value", () => {
  const numbers = [
    0,
    -0,
    7,
    -42,
    0.1 + 0.2,
    1e16,
    1e21,
    -1e-7,
    2 ** 53 + 2,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
  ];
  // And numbers of every size, sign and precision, the same on every run.
  let seed = 1;
  for (let i = 0; i < 1000; i++) {
    seed = (seed * 16807) % 2147483647;
    numbers.push((seed / 2147483647 - 0.5) * 10 ** ((seed % 600) - 300));
  }
  for (const n of numbers) {
    assert.equal(encodeValue("n", n), JSON.stringify([n]).slice(1, -1), `${n}`);
  }
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

// Integers Python writes that a number would not write back with the same
// digits, so a read-modify-write through a number would change them.
const UNSAFE_INTEGERS: string[] = [
  "12345678901234567890", // would come back as 12345678901234567000
  "-12345678901234567890",
  "9007199254740993", // 2^53 + 1, the smallest positive one
  "123456789012345678901234567890",
  "1152921504606846976", // 2^60 exactly, which JavaScript writes as …847000
  "1000000000000000000000", // 10^21, which JavaScript writes as 1e+21
];

function assertCorrupt(
  decode: () => unknown,
  property: string,
  reason: CorruptValueReason,
): void {
  assert.throws(decode, (error) => {
    assert.ok(error instanceof CorruptValueError, String(error));
    assert.equal(error.property, property);
    assert.equal(error.reason, reason);
    assert.ok(error.message.includes(JSON.stringify(property)), error.message);
    return true;
  });
}

Deno.test("codec: an integer a JavaScript number cannot hold exactly is a CorruptValueError naming the property, never a rounded number", () => {
  for (const text of UNSAFE_INTEGERS) {
    assertCorrupt(
      () => decodeValue("s:u", "pbig", text),
      "big",
      "unsafe-integer",
    );
    assertCorrupt(
      () => decodeValue("s:u", "ebig", `{"a": [1, ${text}], "b": "x"}`),
      "big",
      "unsafe-integer",
    );
    assertCorrupt(
      () => new FieldText("s:u", "p", "big", ` ${text} `).decode(),
      "big",
      "unsafe-integer",
    );
  }
  assert.throws(() => decodeValue("s:u", "pbig", UNSAFE_INTEGERS[0]), {
    message: /Number\.MAX_SAFE_INTEGER.*unsafeIntegers: "bigint"/,
  });
});

Deno.test("codec: a number that overflows to Infinity is a CorruptValueError, in either mode", () => {
  for (const integers of ["reject", "bigint"] as const) {
    for (const text of ["1e400", "-1e400", "[1, 2E+999]", '{"x": 1.5e309}']) {
      assertCorrupt(
        () => decodeValue("s:u", "pn", text, integers),
        "n",
        "overflow",
      );
    }
  }
});

Deno.test("codec: integers a number writes back with the same digits, and every finite decimal, read as numbers", () => {
  const exact: [string, number][] = [
    ["9007199254740991", Number.MAX_SAFE_INTEGER],
    ["-9007199254740991", Number.MIN_SAFE_INTEGER],
    ["9007199254740992", 2 ** 53],
    ["1152921504606847000", 2 ** 60], // what JSON.stringify(2 ** 60) writes
    ["100000000000000000000", 1e20], // what JSON.stringify(1e20) writes
    ["1e+16", 1e16],
    ["1e+100", 1e100],
    ["0.1", 0.1],
    ["12345678901234567890.0", 12345678901234567890.0],
    ["1.7976931348623157e+308", Number.MAX_VALUE],
    ["5e-324", 5e-324],
    ["1e-400", 0], // underflow rounds to zero in Python too
  ];
  for (const [text, value] of exact) {
    assert.equal(decodeValue("s:u", "pn", text), value, text);
  }
  // Digit runs and exponents inside strings are text, not numbers.
  assert.deepEqual(
    decodeValue("s:u", "pn", '{"id": "12345678901234567890", "e": "1e400"}'),
    { id: "12345678901234567890", e: "1e400" },
  );
  // Every number JavaScript writes reads back as itself.
  for (const value of [2 ** 60, 1e20, 1e21, -(2 ** 70), Number.MAX_VALUE]) {
    assert.equal(decodeValue("s:u", "pn", encodeValue("n", value)), value);
  }
});

Deno.test('codec: with unsafeIntegers "bigint", integers beyond ±(2^53 − 1) read exactly as BigInt', () => {
  assert.equal(
    decodeValue("s:u", "pn", "12345678901234567890", "bigint"),
    12345678901234567890n,
  );
  assert.deepEqual(
    decodeValue(
      "s:u",
      "pn",
      '{"a": [-9007199254740993, 9007199254740991, 1152921504606846976, 0.5, 1e+16]}',
      "bigint",
    ),
    {
      a: [
        -9007199254740993n,
        9007199254740991,
        1152921504606846976n,
        0.5,
        1e16,
      ],
    },
  );
  assert.equal(
    FieldText.of("s:u", "p", "n", "12345678901234567890", "bigint").decode(),
    12345678901234567890n,
  );
});

Deno.test('codec: a BigInt is refused by default, and written as a JSON integer with unsafeIntegers "bigint"', () => {
  assert.throws(() => encodeValue("n", 1n), InvalidValueError);
  assert.throws(() => encodeValue("n", { a: [1n] }), InvalidValueError);
  assert.equal(
    encodeValue("n", 12345678901234567890n, "bigint"),
    "12345678901234567890",
  );
  assert.equal(encodeValue("n", -5n, "bigint"), "-5");
  assert.equal(
    encodeValue("n", { a: [1n, 12345678901234567890n, 1.5] }, "bigint"),
    '{"a":[1,12345678901234567890,1.5]}',
  );
  // Everything else is checked as before.
  assert.throws(() => encodeValue("n", [1n, NaN], "bigint"), InvalidValueError);
});

Deno.test("codec: a BigInt equals the number with the same JSON text, and copies keep it", () => {
  assert.ok(jsonEqual(5n, 5));
  assert.ok(jsonEqual({ a: [1152921504606847000n] }, { a: [2 ** 60] }));
  // JSON writes 2 ** 60 as 1152921504606847000, not with its exact digits.
  assert.ok(!jsonEqual(2n ** 60n, 2 ** 60));
  assert.ok(!jsonEqual(2n ** 64n + 1n, 2 ** 64));
  assert.ok(!jsonEqual(12345678901234567890n, 12345678901234567000));
  assert.ok(!jsonEqual(1n, 2n));
  assert.ok(!jsonEqual(1n, "1"));
  const value = { a: [12345678901234567890n, { b: 1 }] };
  const copy = copyValue(value) as typeof value;
  assert.deepEqual(copy, value);
  assert.notEqual(copy.a, value.a);
  assert.equal(copyValue(7n), 7n);
});

Deno.test('codec: with unsafeIntegers "bigint", a global BigInt.prototype.toJSON does not turn a nested BigInt into a string', () => {
  const prototype = BigInt.prototype as unknown as { toJSON?: () => string };
  prototype.toJSON = function (this: bigint) {
    return this.toString();
  };
  try {
    assert.equal(
      encodeValue("n", { a: [12345678901234567890n] }, "bigint"),
      '{"a":[12345678901234567890]}',
    );
  } finally {
    delete prototype.toJSON;
  }
});
