/**
 * `deno task bench`: every benchmark scenario against throwaway servers,
 * beside its baselines, printed as one table. Baselines run in the same
 * process against the same server, so compare ratios, not absolute figures.
 *
 * A full run (no group named) runs the whole table 3 times, prints the
 * median figures with the min–max range of every ratio, and records them in
 * `bench/results/latest.json`. `deno task bench client storage` runs only the
 * named groups, once, and only prints. `--repeat N` sets the number of runs
 * either way.
 *
 * @module
 */

import { startRedisServer } from "../testing.ts";
import { benchClient } from "./client.ts";
import { benchCluster } from "./cluster.ts";
import { benchColdStart } from "./cold_start.ts";
import { benchLatency } from "./latency.ts";
import { benchMemory } from "./memory.ts";
import { benchStorage } from "./storage.ts";
import { benchTelemetry } from "./telemetry.ts";
import { formatTable, type Row, summarize } from "./_table.ts";

const groups = [
  "cold",
  "client",
  "storage",
  "latency",
  "memory",
  "telemetry",
  "cluster",
] as const;

const chosen: string[] = [];
let repeat: number | undefined;
for (let i = 0; i < Deno.args.length; i++) {
  const arg = Deno.args[i];
  if (arg === "--repeat" || arg.startsWith("--repeat=")) {
    const value = arg === "--repeat" ? Deno.args[++i] : arg.slice(9);
    repeat = Number(value);
    if (!Number.isInteger(repeat) || repeat < 1) {
      throw new TypeError(
        `--repeat takes a whole number of runs, 1 or more; got ${value}.`,
      );
    }
  } else if ((groups as readonly string[]).includes(arg)) {
    chosen.push(arg);
  } else {
    throw new TypeError(
      `Unknown group ${arg}; choose from ${
        groups.join(", ")
      }, or give --repeat N.`,
    );
  }
}
const full = chosen.length === 0;
if (full) chosen.push(...groups);
repeat ??= full ? 3 : 1;

/** One run of the chosen groups, each against fresh servers. */
async function runTable(): Promise<Row[]> {
  const rows: Row[] = [];
  const timed = async (group: string, run: () => Promise<Row[]>) => {
    if (!chosen.includes(group)) return;
    const t = performance.now();
    rows.push(...await run());
    console.error(
      `  ${group}: ${((performance.now() - t) / 1000).toFixed(0)} s`,
    );
  };
  {
    await using server = await startRedisServer();
    await timed("cold", async () => [await benchColdStart(server.url)]);
    await timed("client", () => benchClient(server.url));
    await timed("storage", () => benchStorage(server.url, server.port));
  }
  await timed("latency", () => benchLatency());
  await timed("memory", () => benchMemory());
  await timed("telemetry", () => benchTelemetry());
  await timed("cluster", async () => [await benchCluster()]);
  return rows;
}

const started = performance.now();
const runs: Row[][] = [];
for (let r = 0; r < repeat; r++) {
  const t = performance.now();
  runs.push(await runTable());
  console.error(
    `run ${r + 1} of ${repeat}: ${
      ((performance.now() - t) / 1000).toFixed(0)
    } s`,
  );
}
const seconds = (performance.now() - started) / 1000;
const summaries = summarize(runs);

console.log(formatTable(summaries));
console.log(
  `\n${summaries.length} scenarios, ${repeat} run${
    repeat === 1 ? "" : "s"
  } of the table in ${
    seconds.toFixed(0)
  } s on ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}. Each figure is the median over the runs of each run's median of 3 or more samples; a target is met only if the worse end of its ratio's range meets it.`,
);
if (full) {
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(
    new URL("./results/latest.json", import.meta.url),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        deno: Deno.version.deno,
        cores: navigator.hardwareConcurrency,
        seconds,
        repeat,
        summaries,
        runs,
      },
      null,
      2,
    ) + "\n",
  );
} else {
  console.log(
    "\n(a group run: bench/results/latest.json, the record of the last full run, is left as it was)",
  );
}
