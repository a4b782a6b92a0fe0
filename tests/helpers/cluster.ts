/**
 * Cluster test helpers shared by the cluster and cluster-failover tests.
 *
 * @module
 */
import { keySlot } from "../../src/client/_slot.ts";

/**
 * One key for each of the 16,384 slots, by index: writing them all touches
 * the first and last slot of every range.
 *
 * @returns The keys, `keys[slot]` hashing to `slot`.
 */
export function keyPerSlot(): string[] {
  const keys = new Array<string>(16384);
  let missing = 16384;
  for (let i = 0; missing > 0; i++) {
    const key = `slot-key-${i}`;
    const slot = keySlot(key);
    if (keys[slot] === undefined) {
      keys[slot] = key;
      missing--;
    }
  }
  return keys;
}
