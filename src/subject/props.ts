/**
 * The compile-time half of the JSON-value rules (`src/json/codec.ts` is the
 * run-time half): which property types a typed subject may declare.
 *
 * @module
 */

/**
 * `T` itself when JSON stores and reads back every value of type `T`
 * unchanged; otherwise, in the place that fails, a message that says what
 * to store instead, so a `Props` type holding a `Date` fails to compile
 * with a reason rather than at run time with an `InvalidValueError`.
 *
 * Stored: `string`, `number`, `boolean`, `null`, arrays and tuples of
 * stored values, and objects of stored values, interfaces included, nested
 * to any depth. `undefined` in a union is allowed, for optional properties.
 * `unknown` (and `any`) is left to the run-time check.
 *
 * Not stored: `Date`, `bigint` (unless the storage reads and writes big
 * integers as `BigInt`: see `Also`), `Map`, `Set`, `Promise`, functions
 * (class instances with methods, too), symbols, and a type that is only
 * `undefined`.
 *
 * @typeParam T A property's value type.
 * @typeParam Also Further types the storage stores: `bigint` when it was
 *   created with `unsafeIntegers: "bigint"`.
 * @typeParam Depth How deep the check is inside a value; leave it out. Past
 *   ten levels the check is left to the run time, so that a recursive type
 *   does not make the compiler give up.
 *
 * @example A Date does not compile; its ISO string does
 * ```ts
 * import type { StorableValue } from "@x/redis-subjects";
 *
 * const when: StorableValue<string> = "2026-12-05T10:00:00Z";
 * // @ts-expect-error: a Date reads back as a string
 * const date: StorableValue<Date> = new Date();
 * console.log(when, date);
 * ```
 */
export type StorableValue<
  T,
  Also = never,
  Depth extends unknown[] = [],
> = unknown extends T ? T
  : [T] extends [undefined]
    ? "is only undefined, which JSON cannot store: make the property optional, or store null"
  // A type that contains itself (a JSON tree type) would walk forever: past
  // this depth the check is left to the run time.
  : Depth["length"] extends 10 ? T
  // From here the check distributes over a union's members.
  : T extends string | number | boolean | null | undefined | Also ? T
  : T extends bigint
    ? "is a bigint, which JSON cannot store: store a string, or a number if it is a safe integer"
  : T extends symbol
    ? "is a symbol, which JSON cannot store: store its description as a string"
  : T extends (...args: never[]) => unknown
    ? "is a function, which JSON cannot store: store the data it produces"
  : T extends Date
    ? "is a Date, which JSON reads back as a string: store date.toISOString() or date.getTime()"
  : T extends ReadonlyMap<unknown, unknown>
    ? "is a Map, which JSON writes as {}: store Object.fromEntries(map)"
  : T extends ReadonlySet<unknown>
    ? "is a Set, which JSON writes as {}: store Array.from(set)"
  : T extends PromiseLike<unknown>
    ? "is a Promise, which JSON cannot store: store the value it resolves to"
  : T extends object
    ? { [K in keyof T]: StorableValue<T[K], Also, [...Depth, 0]> }
  : never;

/**
 * The constraint a typed subject's `Props` meets: every property's type is
 * one JSON stores (see {@linkcode StorableValue}). Written as a mapped type,
 * not as `Record<string, …>`, so that interfaces, which have no index
 * signature, meet it too.
 *
 * @typeParam Props The subject's properties: name to value type.
 * @typeParam Also Further types the storage stores, as in
 *   {@linkcode StorableValue}.
 *
 * @example A helper that opens typed subjects
 * ```ts
 * import { createMemoryStorage, KRules, type StorableProps, type Subject } from "@x/redis-subjects";
 *
 * function open<P extends StorableProps<P>>(krules: KRules, name: string): Subject<P> {
 *   return krules.subject<P>(name);
 * }
 * interface Device {
 *   temperature: number;
 *   seen: string; // an ISO date: a Date would not compile
 * }
 * const device = open<Device>(new KRules({ storage: createMemoryStorage() }), "device-1");
 * await device.set("temperature", 21.5);
 * ```
 */
export type StorableProps<Props, Also = never> = {
  [K in keyof Props]: StorableValue<Props[K], Also>;
};
