/**
 * Deep equality of JSON values.
 *
 * @module
 */

/**
 * Deep equality of JSON data: what decides whether a `set()` changed a
 * property. Two values are equal when they would encode to the same JSON
 * modulo key order, so `{ a: 1, b: 2 }` equals `{ b: 2, a: 1 }` and a fresh
 * copy equals the original. A `BigInt` equals the number JSON writes with
 * the same digits (`5n` equals `5`; `2n ** 64n + 1n` does not equal
 * `2 ** 64`).
 *
 * @param a One value.
 * @param b The other value.
 * @returns Whether they are the same JSON data.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object") {
    // 0 and -0 are one value in JSON.
    if (typeof a === "number" && typeof b === "number") return a === b;
    return isInteger(a) && isInteger(b) && String(a) === String(b);
  }
  if (a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!jsonEqual(a[i], b[i])) return false;
    }
    return true;
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(right, key) || !jsonEqual(left[key], right[key])) {
      return false;
    }
  }
  return true;
}

function isInteger(value: unknown): boolean {
  return typeof value === "bigint" || typeof value === "number";
}
