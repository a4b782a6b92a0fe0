/**
 * `deno task bench`: starts a throwaway server, runs every benchmark against
 * it, prints one markdown table and writes it as JSON to
 * `bench/results/latest.json`.
 *
 * @module
 */

import { startRedisServer } from "../testing.ts";
import { benchClient } from "./client.ts";
import { formatTable, met, ratio, type Row } from "./_table.ts";

await using server = await startRedisServer();
const rows: Row[] = [];
rows.push(...await benchClient(server.url));

console.log(formatTable(rows));
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL("./results/latest.json", import.meta.url),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      deno: Deno.version.deno,
      cores: navigator.hardwareConcurrency,
      rows: rows.map((row) => ({ ...row, ratio: ratio(row), met: met(row) })),
    },
    null,
    2,
  ) + "\n",
);
