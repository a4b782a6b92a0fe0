/**
 * `deno task bench`: every benchmark scenario against throwaway servers,
 * printed as one markdown table and written as JSON to
 * `bench/results/latest.json`. Baselines run in the same process against
 * the same server, so compare ratios, not absolute figures.
 *
 * `deno task bench client storage` runs only the named groups.
 *
 * @module
 */

import { startRedisServer } from "../testing.ts";
import { benchClient } from "./client.ts";
import { benchCluster } from "./cluster.ts";
import { benchColdStart } from "./cold_start.ts";
import { benchStorage } from "./storage.ts";
import { formatTable, met, ratio, type Row } from "./_table.ts";

const groups = ["cold", "client", "storage", "cluster"] as const;
const chosen = Deno.args.length === 0 ? [...groups] : Deno.args;
for (const name of chosen) {
  if (!(groups as readonly string[]).includes(name)) {
    throw new TypeError(
      `Unknown group ${name}; choose from ${groups.join(", ")}.`,
    );
  }
}

const started = performance.now();
const rows: Row[] = [];
{
  await using server = await startRedisServer();
  if (chosen.includes("cold")) rows.push(await benchColdStart(server.url));
  if (chosen.includes("client")) rows.push(...await benchClient(server.url));
  if (chosen.includes("storage")) {
    rows.push(...await benchStorage(server.url, server.port));
  }
}
if (chosen.includes("cluster")) rows.push(await benchCluster());
const seconds = (performance.now() - started) / 1000;

console.log(formatTable(rows));
console.log(
  `\n${rows.length} scenarios in ${
    seconds.toFixed(0)
  } s on ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}; every figure is the median of 5 or more runs.`,
);
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL("./results/latest.json", import.meta.url),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      deno: Deno.version.deno,
      cores: navigator.hardwareConcurrency,
      seconds,
      rows: rows.map((row) => ({ ...row, ratio: ratio(row), met: met(row) })),
    },
    null,
    2,
  ) + "\n",
);
