/**
 * Client benchmark: HSET throughput with 1 and with 10,000 commands in flight,
 * this module's client against node-redis 6 `sendCommand` (the baseline
 * column's "node-redis"), on one server.
 *
 * Run alone with `deno task bench client`, or as part of `deno task bench`.
 *
 * @module
 */

import { createClient } from "redis";
import { createRedisClient } from "../mod.ts";
import { startRedisServer } from "../testing.ts";
import { alternate, median, type Row } from "./_table.ts";

type Send = (args: string[]) => Promise<unknown>;

/** Sequential HSETs: one command in flight at a time. */
async function oneInFlight(send: Send, ops: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < ops; i++) {
    await send(["HSET", "bench:client:seq", `f${i & 1023}`, "value"]);
  }
  return ops / ((performance.now() - started) / 1000);
}

/** Waves of `inFlight` concurrent HSETs. */
async function manyInFlight(
  send: Send,
  inFlight: number,
  waves: number,
): Promise<number> {
  const started = performance.now();
  for (let w = 0; w < waves; w++) {
    const batch = new Array<Promise<unknown>>(inFlight);
    for (let i = 0; i < inFlight; i++) {
      batch[i] = send([
        "HSET",
        `bench:client:many:${i & 255}`,
        `f${i}`,
        "value",
      ]);
    }
    await Promise.all(batch);
  }
  return (inFlight * waves) / ((performance.now() - started) / 1000);
}

/**
 * Measures both clients against `url`, alternating which one runs first from
 * run to run so that neither always gets the warmer machine, and returns the
 * medians.
 */
export async function benchClient(url: string, runs = 3): Promise<Row[]> {
  await using ours = await createRedisClient(url);
  const nodeRedis = createClient({ url });
  await nodeRedis.connect();
  try {
    const oursSend: Send = (args) => ours.send(args);
    const theirs: Send = (args) => nodeRedis.sendCommand(args);
    // Warm up both JITs and connections.
    for (const send of [oursSend, theirs]) {
      await oneInFlight(send, 2000);
      await manyInFlight(send, 10_000, 2);
    }
    const seq = await alternate(runs, {
      ours: () => oneInFlight(oursSend, 10_000),
      theirs: () => oneInFlight(theirs, 10_000),
    });
    const many = await alternate(runs, {
      ours: () => manyInFlight(oursSend, 10_000, 10),
      theirs: () => manyInFlight(theirs, 10_000, 10),
    });
    return [
      {
        scenario: "client: HSET, 1 in flight (ops/s)",
        ours: median(seq.ours),
        baselines: { "node-redis": median(seq.theirs) },
        target: 1.0,
      },
      {
        scenario: "client: HSET, 10,000 in flight (ops/s)",
        ours: median(many.ours),
        baselines: { "node-redis": median(many.theirs) },
        target: 1.0,
      },
    ];
  } finally {
    await nodeRedis.quit();
  }
}

if (import.meta.main) {
  const { formatTable, summarize } = await import("./_table.ts");
  await using server = await startRedisServer();
  console.log(formatTable(summarize([await benchClient(server.url)])));
}
