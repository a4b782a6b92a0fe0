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
 * reads those back as something else. `-0` is stored as `0`.
 *
 * @param property The property name, for the error message.
 * @param value The value to encode.
 * @returns The JSON text.
 */
export function encodeValue(property: string, value: unknown): string {
  // Most values are primitives: skip the walk and its bookkeeping for them.
  const type = typeof value;
  if (
    type === "string" || type === "boolean" || value === null ||
    (type === "number" && Number.isFinite(value))
  ) {
    return JSON.stringify(value);
  }
  const problem = findProblem(value, []);
  if (problem !== undefined) {
    throw new InvalidValueError(
      property,
      "value" + problem.path.reverse().join(""),
      problem.reason,
    );
  }
  return JSON.stringify(value);
}

/**
 * Decodes the JSON text of one field.
 *
 * @param key The key holding the field, for the error message.
 * @param field The field name, for the error message.
 * @param text The field's text.
 * @returns The decoded value.
 * @throws {CorruptValueError} When the text is not valid JSON.
 */
export function decodeValue(key: string, field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CorruptValueError(key, field, { cause: error });
  }
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
   * @throws {CorruptValueError} When the bytes are not UTF-8 or the text is not valid JSON.
   */
  decode(): unknown {
    if (!this.utf8) throw new CorruptValueError(this.key, this.field);
    return decodeValue(this.key, this.field, this.text);
  }
}

// A getter on the prototype rather than a field: a flag on each of the
// millions of fields a process may hold costs memory for the rare one.
class NotUtf8 extends FieldText {
  override get utf8(): boolean {
    return false;
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
 * copy can be changed without changing the original.
 *
 * @param value A value that `encodeValue` accepts, or `undefined`.
 * @returns An equal value sharing no objects with `value`.
 */
export function copyValue(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
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
function findProblem(value: unknown, ancestors: object[]): Problem | undefined {
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
      return problem(
        "is a BigInt, which JSON cannot store. Store it as a string, or as a number if it is a safe integer.",
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
      const inner = findProblem(object[i], ancestors);
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
      const inner = findProblem(record[key], ancestors);
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
