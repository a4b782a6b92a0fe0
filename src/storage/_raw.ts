/**
 * Loading a subject's fields as raw JSON text, decoded only when read. A
 * subject usually reads a few of its properties; decoding all of them on
 * every load was most of what loading a wide subject cost.
 *
 * Internal: the Subject uses it when its storage offers it, and falls back
 * to `load()` otherwise.
 *
 * @module
 */
import { decodeValue } from "./json_codec.ts";

/** A field's JSON text, with what a decoding error must name. */
export class RawValue {
  /**
   * @param key The hash the field belongs to.
   * @param field The field, type letter included.
   * @param text The field's JSON text.
   */
  constructor(
    readonly key: string,
    readonly field: string,
    readonly text: string,
  ) {}

  /**
   * Decodes the text.
   *
   * @throws {CorruptValueError} When it is not valid JSON.
   */
  decode(): unknown {
    return decodeValue(this.key, this.field, this.text);
  }
}

/** The method a storage offers to load raw fields: default, then extended. */
export const loadRaw: unique symbol = Symbol("redis-subjects.loadRaw");

/** A storage that can load raw fields. */
export interface RawLoader {
  [loadRaw](): Promise<[Map<string, RawValue>, Map<string, RawValue>]>;
}

/** Whether `storage` can load raw fields. */
export function canLoadRaw(storage: object): storage is RawLoader {
  return typeof (storage as Partial<RawLoader>)[loadRaw] === "function";
}

/**
 * Property values by name, decoded on first read. Reads through `get` and
 * iteration return decoded values (and keep them, so each field is parsed at
 * most once); `has`, `keys` and `size` never decode. A field that is not JSON
 * throws `CorruptValueError` when it is read, not when the subject loads.
 */
export class LazyValues extends Map<string, unknown> {
  override get(name: string): unknown {
    const value = super.get(name);
    if (!(value instanceof RawValue)) return value;
    const decoded = value.decode();
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
