/**
 * Property values by name, kept as the two arrays one `setMany()` made of
 * its object until something needs a map of them: filling a map of 100
 * fields, table by growing table, took two thirds of a cached `setMany()`,
 * while `store()` only walks the values once, in order. Any other use fills
 * the map first, and from then on it is a plain map.
 */
export class BatchValues extends Map<string, unknown> {
  #names: readonly string[] | null;
  #values: readonly unknown[] | null;

  /**
   * Takes the names and values without copying them.
   *
   * @param names Distinct property names, as `Object.keys()` gives them.
   * @param values Their values, in the same order.
   */
  constructor(names: readonly string[], values: readonly unknown[]) {
    super();
    this.#names = names;
    this.#values = values;
  }

  /** Puts the arrays into the map, once. */
  #fill(): void {
    const names = this.#names;
    const values = this.#values;
    if (names === null || values === null) return;
    this.#names = this.#values = null;
    for (let i = 0; i < names.length; i++) super.set(names[i], values[i]);
  }

  override get size(): number {
    return this.#names === null ? super.size : this.#names.length;
  }

  override forEach(
    callback: (value: unknown, key: string, map: Map<string, unknown>) => void,
    thisArg?: unknown,
  ): void {
    const names = this.#names;
    const values = this.#values;
    if (names === null || values === null) {
      return super.forEach(callback, thisArg);
    }
    for (let i = 0; i < names.length; i++) {
      callback.call(thisArg, values[i], names[i], this);
    }
  }

  override get(name: string): unknown {
    this.#fill();
    return super.get(name);
  }

  override has(name: string): boolean {
    this.#fill();
    return super.has(name);
  }

  override set(name: string, value: unknown): this {
    this.#fill();
    return super.set(name, value);
  }

  override delete(name: string): boolean {
    this.#fill();
    return super.delete(name);
  }

  override clear(): void {
    this.#names = this.#values = null;
    super.clear();
  }

  override keys(): MapIterator<string> {
    this.#fill();
    return super.keys();
  }

  override values(): MapIterator<unknown> {
    this.#fill();
    return super.values();
  }

  override entries(): MapIterator<[string, unknown]> {
    this.#fill();
    return super.entries();
  }

  override [Symbol.iterator](): MapIterator<[string, unknown]> {
    this.#fill();
    return super[Symbol.iterator]();
  }
}
