/**
 * The two kinds of subject property, as the one-letter prefix of their hash
 * field: `p` for default properties, `e` for extended ones.
 */
export const PropertyType: {
  readonly DEFAULT: "p";
  readonly EXTENDED: "e";
} = {
  /** A default property, stored in field `p{name}`. */
  DEFAULT: "p",
  /** An extended property, stored in field `e{name}`. */
  EXTENDED: "e",
} as const;

/** One of the {@linkcode PropertyType} values: `"p"` or `"e"`. */
export type PropertyTypeValue = typeof PropertyType[keyof typeof PropertyType];

/**
 * A property as the storage layer sees it: a name, its kind, and for writes
 * the value (or, for `set()`, a function of the old value).
 */
export interface Property {
  /** The property name, without the field prefix. */
  readonly name: string;
  /** Whether it is a default (`"p"`) or extended (`"e"`) property. */
  readonly type: PropertyTypeValue;
  /** The value to write; unused by reads and deletes. */
  readonly value?: unknown;
}

/**
 * A default property (type `"p"`).
 *
 * @example
 * ```ts
 * import { SubjectProperty } from "@x/redis-subjects/storage";
 *
 * const age = new SubjectProperty("age", 30);
 * console.log(age.type); // "p"
 * ```
 */
export class SubjectProperty implements Property {
  /** The property name. */
  readonly name: string;
  /** Always `"p"`. */
  readonly type: "p" = PropertyType.DEFAULT;
  /** The value to write, if any. */
  readonly value?: unknown;

  /**
   * Creates a default property.
   *
   * @param name The property name.
   * @param value The value to write; omit it for reads and deletes.
   */
  constructor(name: string, value?: unknown) {
    this.name = name;
    this.value = value;
  }
}

/**
 * An extended property (type `"e"`): metadata kept beside the default
 * properties, under its own field prefix.
 *
 * @example
 * ```ts
 * import { SubjectExtProperty } from "@x/redis-subjects/storage";
 *
 * const tenant = new SubjectExtProperty("tenant_id", "t-1");
 * console.log(tenant.type); // "e"
 * ```
 */
export class SubjectExtProperty implements Property {
  /** The property name. */
  readonly name: string;
  /** Always `"e"`. */
  readonly type: "e" = PropertyType.EXTENDED;
  /** The value to write, if any. */
  readonly value?: unknown;

  /**
   * Creates an extended property.
   *
   * @param name The property name.
   * @param value The value to write; omit it for reads and deletes.
   */
  constructor(name: string, value?: unknown) {
    this.name = name;
    this.value = value;
  }
}

/**
 * A property whose value was already checked and encoded by
 * `encodeValue()`, with its name checked: what a `Subject` hands to
 * `store()`, so that the storage writes `text` without encoding the value a
 * second time. Any storage may still read `value`. Internal: only this
 * module's code creates one, and only from a checked name and the encoding
 * of `value`.
 */
export class EncodedProperty implements Property {
  /**
   * Keeps a checked property with its encoding.
   *
   * @param type Its kind.
   * @param name Its checked name.
   * @param value Its value.
   * @param text `encodeValue()` of the value.
   */
  constructor(
    readonly type: PropertyTypeValue,
    readonly name: string,
    readonly value: unknown,
    readonly text: string,
  ) {}
}
