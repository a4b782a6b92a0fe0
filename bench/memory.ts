/**
 * Memory rows of `deno task bench`: resident set and heap after GC with
 * 10,000 subjects of 50 properties loaded, and heap growth across 1,000,000
 * mixed operations (80% reads, 20% writes, 256 in flight), this module beside
 * node-redis sending the same raw commands. Each client runs in a fresh
 * `deno run --v8-flags=--expose-gc` process.
 *
 * Run alone with `deno task bench memory`, or as part of `deno task bench`.
 *
 * @module
 */

import { createRedisClient } from "../mod.ts";
import { SET_SCRIPT } from "../src/storage/redis/scripts.ts";
import { startRedisServer } from "../testing.ts";
import type { MemoryFigures } from "./memory/_measure.ts";
import type { Row } from "./_table.ts";
import { runDeno } from "./_child.ts";
import { seedSubjects } from "./_seed.ts";

const scripts = {
  ours: new URL("./memory/ours.ts", import.meta.url),
  "node-redis": new URL("./memory/node_redis.ts", import.meta.url),
};

async function child(script: URL, args: string[]): Promise<MemoryFigures> {
  // Same flags for both; npm packages read a few variables.
  const flags = ["--v8-flags=--expose-gc", "--allow-net=127.0.0.1"];
  return JSON.parse(
    await runDeno(script, [...flags, "--allow-env", "--allow-read"], args),
  );
}

/** The three memory rows, measured once each on a fresh server. */
export async function benchMemory(): Promise<Row[]> {
  await using server = await startRedisServer();
  await seedSubjects(server.url, "bench:memory:", 10_000, 50);
  const sha = await SET_SCRIPT.sha();
  {
    await using client = await createRedisClient(server.url);
    await client.send(["SCRIPT", "LOAD", SET_SCRIPT.source]);
  }
  // Side by side: the figures are sizes, not speeds, so sharing the machine
  // does not change them, and the group takes half the time.
  const [ours, theirs] = await Promise.all([
    child(scripts.ours, [server.url]),
    child(scripts["node-redis"], [server.url, sha]),
  ]);
  const rows = (
    scenario: string,
    pick: (f: MemoryFigures) => number,
  ): Row => ({
    scenario,
    ours: pick(ours),
    baselines: { "node-redis": pick(theirs) },
    lowerIsBetter: true,
  });
  return [
    rows(
      "memory: RSS after GC, 10,000 subjects × 50 fields loaded (MiB)",
      (f) => f.rss,
    ),
    {
      ...rows("memory: heap after GC, the same (MiB)", (f) => f.heap),
      target: 1.3,
    },
    {
      ...rows(
        "memory: heap growth over 1,000,000 mixed operations (MiB)",
        (f) => f.growth,
      ),
      note:
        "growth = heap after GC once the operations are done, minus heap after GC before them; near zero or below means nothing piles up",
    },
  ];
}

if (import.meta.main) {
  const { formatTable, summarize } = await import("./_table.ts");
  console.log(formatTable(summarize([await benchMemory()])));
}
