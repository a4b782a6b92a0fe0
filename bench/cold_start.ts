/**
 * Cold start: what a new worker isolate pays before its first answer. Each
 * sample is a fresh `deno run` process that imports a client, connects and
 * reads one property, timed from spawn to exit.
 *
 * @module
 */

import { createRedisClient } from "../mod.ts";
import { median, type Row } from "./_table.ts";
import { runDeno } from "./_child.ts";

const scripts = {
  ours: new URL("./cold/ours.ts", import.meta.url),
  "node-redis": new URL("./cold/node_redis.ts", import.meta.url),
  ioredis: new URL("./cold/ioredis.ts", import.meta.url),
};

async function timeRun(script: URL, url: string): Promise<number> {
  const started = performance.now();
  // Same flags for every client; npm packages read a few variables.
  await runDeno(
    script,
    ["--allow-net=127.0.0.1", "--allow-env", "--allow-read"],
    [url],
  );
  return performance.now() - started;
}

/** Median cold start of each client, in milliseconds. */
export async function benchColdStart(url: string, runs = 7): Promise<Row> {
  {
    await using client = await createRedisClient(url);
    await client.send(["HSET", "s:bench:cold:user-1", "pname", '"Ada"']);
  }
  const times: Record<string, number[]> = {};
  // One unmeasured run each fills Deno's module and code caches.
  for (const script of Object.values(scripts)) await timeRun(script, url);
  // Each round starts with a different client, so none always runs first.
  const entries = Object.entries(scripts);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < entries.length; i++) {
      const [name, script] = entries[(r + i) % entries.length];
      (times[name] ??= []).push(await timeRun(script, url));
    }
  }
  return {
    scenario: "cold start: new process to first get (ms)",
    note:
      "a fresh deno run process that imports the client, connects and reads one property, spawn to exit",
    ours: median(times.ours),
    baselines: {
      "node-redis": median(times["node-redis"]),
      ioredis: median(times.ioredis),
    },
    target: 0.2,
    lowerIsBetter: true,
  };
}
