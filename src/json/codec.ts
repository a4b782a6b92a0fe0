/**
 * The one place values turn into field text and back, and the one place
 * that knows what a JSON value is. Encoding is strict:
 * a value is stored only if `JSON.parse(JSON.stringify(value))` gives it back
 * with the same shape, because a value that silently changes on the way to
 * Redis (a `Date` that comes back as a string, a `Map` that comes back as
 * `{}`, a `NaN` that comes back as `null`) is a bug found far from its cause.
 *
 * @module
 */
import { CorruptValueError, InvalidValueError } from "./errors.ts";
import { setOwn } from "./record.ts";

/**
 * Whether a value is a string, boolean, `null` or finite number: one that
 * `encodeValue` accepts without looking further, and that cannot change.
 *
 * @param value The value.
 * @returns Whether it is such a scalar.
 */
export function isJsonScalar(value: unknown): boolean {
  const type = typeof value;
  return type === "string" || type === "boolean" || value === null ||
    (type === "number" && Number.isFinite(value));
}

/**
 * Encodes a property value as JSON text, rejecting anything that would not
 * read back unchanged.
 *
 * Accepted: strings, booleans, finite numbers, `null`, arrays without holes,
 * and objects whose prototype is `Object.prototype` or `null`, nested to any
 * depth, without cycles. Rejected with {@linkcode InvalidValueError}:
 * `undefined`, functions, symbols, `BigInt`, `NaN`, `±Infinity`, cycles,
 * array holes, symbol-keyed properties, and every other object (`Date`,
 * `Map`, `Set`, typed arrays, boxed primitives, class instances), since JSON
 * reads those back as something else. `-0` is stored as `0`. With
 * `integers` `"bigint"`, a `BigInt` is accepted and written as a JSON
 * integer with all its digits.
 *
 * @param property The property name, for the error message.
 * @param value The value to encode.
 * @param integers Whether a `BigInt` is refused or written as an integer.
 * @returns The JSON text.
 */
export function encodeValue(
  property: string,
  value: unknown,
  integers: UnsafeIntegers = "reject",
): string {
  // Most values are primitives: skip the walk and its bookkeeping for them.
  const type = typeof value;
  if (type === "number" && Number.isFinite(value)) {
    // JSON writes a finite number as String() does (-0 as "0"), and String()
    // takes V8's number-to-text cache, not a call into JSON.stringify: a
    // third of the time per number.
    return String(value);
  }
  if (type === "string" || type === "boolean" || value === null) {
    return JSON.stringify(value);
  }
  const bigints = integers === "bigint";
  if (type === "bigint" && bigints) return String(value);
  const problem = findProblem(value, [], bigints);
  if (problem !== undefined) {
    throw new InvalidValueError(
      property,
      "value" + problem.path.reverse().join(""),
      problem.reason,
    );
  }
  return bigints ? JSON.stringify(value, writeBigInt) : JSON.stringify(value);
}

/**
 * How a storage treats integers beyond ±(2^53 − 1) (`Number.MAX_SAFE_INTEGER`),
 * which Python writes for its `int`s but a JavaScript number may not hold:
 *
 * - `"reject"`: an integer beyond that range reads as a number only if
 *   JavaScript writes that number back with the same digits (as it does
 *   `100000000000000000000`, and every number it wrote itself); any other
 *   (`12345678901234567890`, which would come back as
 *   `12345678901234567000`) fails with `CorruptValueError`, reason
 *   `"unsafe-integer"`, instead of being rounded. Storing a `BigInt` fails
 *   with `InvalidValueError`.
 * - `"bigint"`: every JSON integer beyond ±(2^53 − 1) reads as a `BigInt`,
 *   exactly; smaller ones and decimals read as numbers. A `BigInt`, anywhere
 *   in a value, is written as a JSON integer, which Python reads exactly.
 *
 * In both, a number too large for a double (`1e400`) fails with reason
 * `"overflow"`, and decimals read as the nearest double, as in Python.
 */
export type UnsafeIntegers = "reject" | "bigint";

// JSON.parse's source-text access (the reviver's third argument) and
// JSON.rawJSON, which V8 has but TypeScript's library does not declare yet.
interface SourceTextJSON {
  parse(
    text: string,
    reviver: (
      this: unknown,
      key: string,
      value: unknown,
      context: { source?: string },
    ) => unknown,
  ): unknown;
  rawJSON(text: string): unknown;
}
const sourceTextJSON = JSON as unknown as SourceTextJSON;

// Written as the holder's own value, not the replacer's: a global
// BigInt.prototype.toJSON would otherwise turn it into a string first.
function writeBigInt(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  return typeof original === "bigint"
    ? sourceTextJSON.rawJSON(original.toString())
    : value;
}

/**
 * Decodes the JSON text of one field, never changing a number on the way:
 * see {@linkcode UnsafeIntegers} for what happens to an integer a JavaScript
 * number cannot hold.
 *
 * @param key The key holding the field, for the error message.
 * @param field The field name, for the error message.
 * @param text The field's text.
 * @param integers How to read integers beyond ±(2^53 − 1).
 * @returns The decoded value.
 * @throws {CorruptValueError} When the text is not valid JSON, or holds a
 *   number JavaScript cannot read unchanged.
 */
export function decodeValue(
  key: string,
  field: string,
  text: string,
  integers: UnsafeIntegers = "reject",
): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CorruptValueError(key, field, { cause: error });
  }
  // The common case costs a type check, or one regular expression over the
  // text of an object or array. Text the expression flags (digits in a
  // string match too) is checked value by value, and only a number that may
  // have been changed sends it to a second, exact parse.
  if (typeof value === "object") {
    if (
      value === null || !MAYBE_UNSAFE.test(text) ||
      !holdsNumberThatMayBeChanged(value)
    ) {
      return value;
    }
  } else if (typeof value !== "number" || !mayBeChanged(value)) {
    return value;
  }
  return decodeExactly(key, field, text, integers);
}

/** Parses again with each number's source text: rare, so kept out of line. */
function decodeExactly(
  key: string,
  field: string,
  text: string,
  integers: UnsafeIntegers,
): unknown {
  try {
    return sourceTextJSON.parse(
      text,
      integers === "bigint" ? readBigInts : rejectInexact,
    );
  } catch (error) {
    if (!(error instanceof UnreadableNumber)) throw error;
    throw new CorruptValueError(key, field, { reason: error.reason });
  }
}

// Any text holding a number JSON.parse would change has one of these: an
// integer beyond 2^53 needs 16 digits in a row, and overflowing a double
// needs an exponent of 3 digits (after a digit, as JSON has it) or a
// mantissa of over 300. Digits in strings match too; they only cost a walk
// of the parsed value. The shared leading digit makes the scan cheaper.
const MAYBE_UNSAFE = /\d(?:\d{15}|[eE][+-]?\d{3})/;
// A JSON integer: no fraction, no exponent. Python writes its ints so and
// its floats never so (repr always has "." or "e", or is inf/nan).
const INTEGER_LITERAL = /^-?\d+$/;

/**
 * Whether JSON.parse may have changed the number its text held: an
 * overflow, or an integer beyond ±(2^53 − 1) (every double that large is an
 * integer, so decimals such as 1e+16 are flagged too, and then let through
 * by the exact parse).
 */
function mayBeChanged(value: number): boolean {
  return !Number.isSafeInteger(value) &&
    (Number.isInteger(value) || !Number.isFinite(value));
}

function holdsNumberThatMayBeChanged(value: unknown): boolean {
  if (typeof value === "number") return mayBeChanged(value);
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (holdsNumberThatMayBeChanged(value[i])) return true;
    }
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (holdsNumberThatMayBeChanged(record[key])) return true;
  }
  return false;
}

/** Thrown inside a reviver, which cannot know the field it decodes. */
class UnreadableNumber {
  constructor(readonly reason: "unsafe-integer" | "overflow") {}
}

function rejectInexact(
  _key: string,
  value: unknown,
  context: { source?: string },
): unknown {
  if (typeof value !== "number" || Number.isSafeInteger(value)) return value;
  if (!Number.isFinite(value)) throw new UnreadableNumber("overflow");
  const source = context.source!;
  // A decimal reads as the nearest double, as Python reads it. An integer
  // reads as a number only if the number is written back with the same
  // digits, so that a read-modify-write never changes what Python reads.
  if (!INTEGER_LITERAL.test(source) || String(value) === source) return value;
  throw new UnreadableNumber("unsafe-integer");
}

function readBigInts(
  _key: string,
  value: unknown,
  context: { source?: string },
): unknown {
  if (typeof value !== "number" || Number.isSafeInteger(value)) return value;
  if (!Number.isFinite(value)) throw new UnreadableNumber("overflow");
  const source = context.source!;
  return INTEGER_LITERAL.test(source) ? BigInt(source) : value;
}

/**
 * A field's JSON text, decoded only when read: what a storage's `loadLazy()`
 * hands out, so that loading a wide subject does not decode every field.
 * It keeps the property name (the load's map key) rather than the field, so
 * a loaded subject holds one string per name.
 */
export class FieldText {
  /**
   * Keeps a field's text with what a decoding error must name.
   *
   * @param key The key (or memory-storage subject key) holding the field.
   * @param type The field's type letter, `"p"` or `"e"`.
   * @param name The property name: the field without its type letter.
   * @param text The field's JSON text.
   */
  constructor(
    readonly key: string,
    readonly type: string,
    readonly name: string,
    readonly text: string,
  ) {}

  /**
   * A field whose stored bytes are not UTF-8: every decoding of it throws
   * `CorruptValueError`, and its `text` (empty) must not be used.
   *
   * @param key The key holding the field.
   * @param type The field's type letter.
   * @param name The property name.
   * @returns The field's stand-in.
   */
  static notUtf8(key: string, type: string, name: string): FieldText {
    return new NotUtf8(key, type, name, "");
  }

  /**
   * A field's text, read under the storage's rule for unsafe integers.
   *
   * @param key The key holding the field.
   * @param type The field's type letter.
   * @param name The property name.
   * @param text The field's JSON text.
   * @param integers How to read integers beyond ±(2^53 − 1).
   * @returns The field's text, ready to decode.
   */
  static of(
    key: string,
    type: string,
    name: string,
    text: string,
    integers: UnsafeIntegers,
  ): FieldText {
    return integers === "bigint"
      ? new BigIntFieldText(key, type, name, text)
      : new FieldText(key, type, name, text);
  }

  /** How integers beyond ±(2^53 − 1) are read. */
  get integers(): UnsafeIntegers {
    return "reject";
  }

  /** The field, type letter included. */
  get field(): string {
    return this.type + this.name;
  }

  /** `false` when the stored bytes are not UTF-8, so `text` must not be used. */
  get utf8(): boolean {
    return true;
  }

  /**
   * Decodes the text.
   *
   * @returns The value.
   * @throws {CorruptValueError} When the bytes are not UTF-8, the text is
   *   not valid JSON, or it holds a number JavaScript cannot read unchanged.
   */
  decode(): unknown {
    if (!this.utf8) throw new CorruptValueError(this.key, this.field);
    return decodeValue(this.key, this.field, this.text, this.integers);
  }
}

// A getter on the prototype rather than a field: a flag on each of the
// millions of fields a process may hold costs memory for the rare one.
class NotUtf8 extends FieldText {
  override get utf8(): boolean {
    return false;
  }
}

// The storage's unsafeIntegers as a class, not a field, for the same reason.
class BigIntFieldText extends FieldText {
  override get integers(): UnsafeIntegers {
    return "bigint";
  }
}

/**
 * Decodes every field of a lazy load into a record by property name.
 *
 * @param texts The fields' texts by property name.
 * @returns The decoded values by property name.
 * @throws {CorruptValueError} When a text is not valid JSON.
 */
export function decodeAll(
  texts: Map<string, FieldText>,
): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [name, text] of texts) setOwn(record, name, text.decode());
  return record;
}

/**
 * A deep copy of a JSON value, such as one read from a cache, so that the
 * copy can be changed without changing the original. `BigInt`s are kept.
 *
 * @param value A value that `encodeValue` accepts, or `undefined`.
 * @returns An equal value sharing no objects with `value`.
 */
export function copyValue(value: unknown): unknown {
  // Walked rather than sent through JSON, which cannot write a BigInt.
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(copyValue);
  const record = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    setOwn(copy, key, copyValue(record[key]));
  }
  return copy;
}

/** Why a value cannot be stored, and where: path segments, innermost first. */
interface Problem {
  path: string[];
  reason: string;
}

function problem(reason: string): Problem {
  return { path: [], reason };
}

/**
 * Finds the first part of `value` that JSON would not give back unchanged.
 * The path is built only on failure, so a valid value costs no strings.
 */
function findProblem(
  value: unknown,
  ancestors: object[],
  bigints: boolean,
): Problem | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      if (Number.isFinite(value)) return undefined;
      return problem(
        `is ${value}, which JSON writes as null. Store null or a finite number instead.`,
      );
    case "undefined":
      return problem(
        "is undefined, which JSON cannot store (it drops it, or writes null inside an array). Delete the property, or store null.",
      );
    case "function":
      return problem(
        "is a function, which JSON cannot store. Store the data it produces instead.",
      );
    case "symbol":
      return problem(
        "is a symbol, which JSON cannot store. Store its description as a string instead.",
      );
    case "bigint":
      if (bigints) return undefined;
      return problem(
        'is a BigInt, which this storage does not store. Open the storage with unsafeIntegers: "bigint" to store it as a JSON integer, or store a string, or a number if it is a safe integer.',
      );
  }
  if (value === null) return undefined;
  const object = value as object;
  // Only the current path counts: the same object twice side by side is fine
  // (JSON writes it twice), an object inside itself is not.
  if (ancestors.includes(object)) {
    return problem(
      "refers back to an object that contains it (a cycle), which JSON cannot store.",
    );
  }
  if (Object.getOwnPropertySymbols(object).length > 0) {
    return problem(
      "has symbol-keyed properties, which JSON drops. Use string keys instead.",
    );
  }
  ancestors.push(object);
  if (Array.isArray(object)) {
    if (Object.getPrototypeOf(object) !== Array.prototype) {
      return problem(describeForeignObject(object));
    }
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) {
        return problem(
          `has an empty slot at index ${i}, which JSON writes as null. Fill it, or store null there.`,
        );
      }
      const inner = findProblem(object[i], ancestors, bigints);
      if (inner !== undefined) {
        inner.path.push(`[${i}]`);
        return inner;
      }
    }
  } else {
    const prototype = Object.getPrototypeOf(object);
    if (prototype !== Object.prototype && prototype !== null) {
      return problem(describeForeignObject(object));
    }
    const record = object as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const inner = findProblem(record[key], ancestors, bigints);
      if (inner !== undefined) {
        inner.path.push(pathSegment(key));
        return inner;
      }
    }
  }
  ancestors.pop();
  return undefined;
}

function describeForeignObject(object: object): string {
  if (object instanceof Date) {
    return "is a Date, which JSON reads back as a string. Store date.toISOString() or date.getTime() instead.";
  }
  if (object instanceof Map) {
    return "is a Map, which JSON writes as {}. Store Object.fromEntries(map) instead.";
  }
  if (object instanceof Set) {
    return "is a Set, which JSON writes as {}. Store Array.from(set) instead.";
  }
  if (object instanceof Promise) {
    return "is a Promise. Await it first; an update function passed to set() must return the new value synchronously.";
  }
  const name = constructorName(object);
  return `is ${
    name === undefined ? "an object with a custom prototype" : `a ${name}`
  }, which JSON reads back as a plain object or array, if at all. Convert it to plain data first.`;
}

function constructorName(object: object): string | undefined {
  try {
    const name = (object as { constructor?: { name?: unknown } }).constructor
      ?.name;
    return typeof name === "string" && name !== "" ? name : undefined;
  } catch {
    // A hostile getter or a revoked proxy must not mask the real problem.
    return undefined;
  }
}

function pathSegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key)
    ? `.${key}`
    : `[${JSON.stringify(key)}]`;
}
