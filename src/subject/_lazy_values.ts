import { FieldText } from "../json/codec.ts";
import type { EncodedValue } from "../storage/types.ts";

/**
 * Whether a map entry is a storage's encoded value rather than a property
 * value: property values are plain data, which never holds a function.
 */
function isEncoded(value: unknown): value is EncodedValue {
  return value instanceof FieldText ||
    (typeof value === "object" && value !== null &&
      typeof (value as Partial<EncodedValue>).decode === "function");
}

/**
 * A field decoded by a read: its value, and the encoded value it came from,
 * kept while the value is the loaded one. Only fields that were read get
 * one; a user's value is never an instance of it, since only plain data can
 * be set.
 */
class Decoded {
  constructor(readonly value: unknown, readonly encoded: EncodedValue) {}
}

/**
 * Property values by name, decoded on first read: a Subject's cache over a
 * storage's `loadLazy()`. Reads through `get` and iteration return decoded
 * values (and keep them, so each field is parsed at most once); `has`, `keys`
 * and `size` never decode. A field that cannot be read (not JSON, or a
 * number JavaScript would change, by the storage's `unsafeIntegers`) throws
 * `CorruptValueError` when it is read, not when the subject loads.
 *
 * It also remembers, until a value is replaced or deleted, the encoded value
 * it was loaded from, so a cached function set can name the exact text it
 * read.
 *
 * One map holds everything, each entry the encoded value until it is read:
 * a loaded subject costs little more than the reply it came from.
 */
export class LazyValues extends Map<string, unknown> {
  /**
   * Fills the map with values still to decode.
   *
   * @param encoded The values by name, as the storage loaded them.
   */
  constructor(encoded: Map<string, EncodedValue>) {
    super();
    // forEach, not the Map constructor's walk of the entries, which makes a
    // [name, value] array of every field of every subject loaded.
    encoded.forEach((value, name) => super.set(name, value));
  }

  /**
   * The encoded value a name was loaded with, while the map still holds
   * that value.
   *
   * @param name The property name.
   * @returns The encoded value, or `undefined` when absent or replaced.
   */
  loaded(name: string): EncodedValue | undefined {
    const value = super.get(name);
    if (value instanceof Decoded) return value.encoded;
    return isEncoded(value) ? value : undefined;
  }

  override get(name: string): unknown {
    const value = super.get(name);
    if (value instanceof Decoded) return value.value;
    if (!isEncoded(value)) return value;
    const decoded = value.decode();
    super.set(name, new Decoded(decoded, value));
    return decoded;
  }

  override *entries(): MapIterator<[string, unknown]> {
    for (const name of super.keys()) yield [name, this.get(name)];
  }

  override *values(): MapIterator<unknown> {
    for (const name of super.keys()) yield this.get(name);
  }

  override [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries();
  }

  override forEach(
    callback: (value: unknown, key: string, map: Map<string, unknown>) => void,
    thisArg?: unknown,
  ): void {
    for (const [name, value] of this.entries()) {
      callback.call(thisArg, value, name, this);
    }
  }
}
