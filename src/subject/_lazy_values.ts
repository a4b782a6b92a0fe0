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
