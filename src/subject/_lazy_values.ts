import type { EncodedValue } from "../storage/types.ts";

// Stands in the map for a value not decoded yet; no stored value can be it.
const ENCODED: unique symbol = Symbol("encoded");

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
 */
export class LazyValues extends Map<string, unknown> {
  readonly #encoded: Map<string, EncodedValue>;

  /**
   * Fills the map with values still to decode.
   *
   * @param encoded The values by name, as the storage loaded them; the map
   *   is kept, not copied.
   */
  constructor(encoded: Map<string, EncodedValue>) {
    super();
    for (const name of encoded.keys()) super.set(name, ENCODED);
    this.#encoded = encoded;
  }

  /**
   * The encoded value a name was loaded with, while the map still holds
   * that value.
   *
   * @param name The property name.
   * @returns The encoded value, or `undefined` when absent or replaced.
   */
  loaded(name: string): EncodedValue | undefined {
    return this.#encoded.get(name);
  }

  override set(name: string, value: unknown): this {
    this.#encoded.delete(name);
    return super.set(name, value);
  }

  override delete(name: string): boolean {
    this.#encoded.delete(name);
    return super.delete(name);
  }

  override get(name: string): unknown {
    const value = super.get(name);
    if (value !== ENCODED) return value;
    const decoded = this.#encoded.get(name)!.decode();
    super.set(name, decoded);
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
