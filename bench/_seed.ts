/**
 * Seeds the subjects a benchmark reads, straight through `HSET`, in waves so
 * that a busy machine never leaves a command waiting past its timeout.
 *
 * @module
 */

import { createRedisClient } from "../mod.ts";

/**
 * Writes `count` subjects `s:{keyPrefix}u0…` of `fields` properties each,
 * `f0` to `f{fields-1}`, each holding `{ n, label }`.
 */
export async function seedSubjects(
  url: string,
  keyPrefix: string,
  count: number,
  fields: number,
): Promise<void> {
  await using client = await createRedisClient(url);
  const wave = 500;
  for (let first = 0; first < count; first += wave) {
    const sends: Promise<unknown>[] = [];
    for (let s = first; s < Math.min(count, first + wave); s++) {
      const args = ["HSET", `s:${keyPrefix}u${s}`];
      for (let f = 0; f < fields; f++) {
        args.push(
          `pf${f}`,
          JSON.stringify({ n: f, label: `value ${f} of ${s}` }),
        );
      }
      sends.push(client.send(args));
    }
    await Promise.all(sends);
  }
}
