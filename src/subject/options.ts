// The types a subject's methods take: its property names, what dict()
// returns, and the options of each call. Apart from the Subject, so that its
// units can name them without importing the facade, which re-exports them.

/**
 * What a typed subject's properties are: property name to value type, e.g.
 * `{ email: string; logins: number }`. Untyped subjects use
 * `Record<string, unknown>`.
 */
export type SubjectProps = object;

/** The property names of `Props`. */
export type PropName<Props extends SubjectProps> = keyof Props & string;

/**
 * What {@linkcode Subject.dict} returns: the properties, which may be
 * absent, the subject's `name` (unless a property of that name overrides
 * it, as in Python) and `ext`, the extended properties.
 *
 * @typeParam Props The default properties' names and value types.
 * @typeParam ExtProps The extended properties' names and value types.
 */
export type SubjectDict<
  Props extends SubjectProps,
  ExtProps extends SubjectProps = Record<string, unknown>,
> =
  & { [K in Exclude<PropName<Props>, "name" | "ext">]?: Props[K] }
  & {
    name: "name" extends keyof Props ? string | Props["name"] : string;
    ext: { [K in PropName<ExtProps>]?: ExtProps[K] };
  };

/** Options of {@linkcode Subject.get} and {@linkcode Subject.getExt}. */
export interface GetOptions {
  /**
   * The value to return when the property is absent, instead of rejecting
   * with `PropertyNotFoundError`. Giving `undefined` counts as giving one.
   */
  default?: unknown;
  /**
   * Read the cache (loading it first if needed), or read storage directly
   * and refresh the cache if there is one.
   *
   * @default {the subject's useCacheDefault}
   */
  useCache?: boolean;
}

/** Options of {@linkcode Subject.set} and {@linkcode Subject.setMany}. */
export interface SetOptions {
  /**
   * Skip the `subject-property-changed` event.
   *
   * @default {false}
   */
  muted?: boolean;
  /** Context passed to event handlers as `event.extra`. */
  extra?: Record<string, unknown>;
  /**
   * Change only the cache until `store()`, or write to storage now (a
   * function value then gets the storage's atomic compare-and-set).
   *
   * @default {the subject's useCacheDefault}
   */
  useCache?: boolean;
}

/** Options of {@linkcode Subject.delete}. */
export interface DeleteOptions {
  /**
   * Skip the `subject-property-deleted` event.
   *
   * @default {false}
   */
  muted?: boolean;
  /** Context passed to event handlers as `event.extra`. */
  extra?: Record<string, unknown>;
  /**
   * Change only the cache until `store()`, or delete from storage now.
   *
   * @default {the subject's useCacheDefault}
   */
  useCache?: boolean;
}

/** Options of {@linkcode Subject.setExt}, {@linkcode Subject.setExtMany} and {@linkcode Subject.deleteExt}. */
export interface ExtOptions {
  /**
   * Change only the cache until `store()`, or write to storage now.
   *
   * @default {the subject's useCacheDefault}
   */
  useCache?: boolean;
}

/** Options of {@linkcode Subject.dict}. */
export interface DictOptions {
  /**
   * Leave out fields that do not hold valid JSON (such as Python's `NaN`, or
   * bytes that are not UTF-8), instead of rejecting with `CorruptValueError`.
   * `delete()` and `flush()` remove such fields.
   *
   * @default {false}
   */
  skipCorrupt?: boolean;
}
