/**
 * Rows at 0.5 ms of added round trip, through the latency proxy, where Redis
 * sits a network hop away as it does in production: what the proxy really
 * adds, an event handler against the same handler written by hand on
 * node-redis, and contention.
 *
 * Run alone with `deno task bench latency`, or as part of `deno task bench`.
 *
 * @module
 */

import { createClient, createClientPool } from "redis";
import { createRedisClient, createRedisStorage, KRules } from "../mod.ts";
import { startRedisServer } from "../testing.ts";
import { benchContention, watchIncrement } from "./contention.ts";
import { measureAddedRoundTrip, startLatencyProxy } from "./latency_proxy.ts";
import { alternate, median, percentile, type Row } from "./_table.ts";
import { seedSubjects } from "./_seed.ts";

/** The added round trip the rows run at, in milliseconds. */
const ADDED_MS = 0.5;
const SUBJECTS = 10_000;
const IN_FLIGHT = 64;
const EVENTS = 4_000;

const increment = (n: unknown) => (typeof n === "number" ? n : 0) + 1;

/** `events` handler calls, `IN_FLIGHT` at a time, each on its own subject. */
async function runEvents(
  events: number,
  latencies: number[],
  handle: (subject: number, event: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < events) {
        const event = next++;
        const t = performance.now();
        await handle((event * 7919) % SUBJECTS, event);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return events / ((performance.now() - started) / 1000);
}

/**
 * The event handler row: load a subject (one property read), three cached
 * sets, `store()`, and one function increment with `useCache: false`; beside
 * the same handler by hand on node-redis: HGETALL and JSON.parse, HSET, and a
 * WATCH/MULTI/EXEC increment on an isolated connection from
 * `createClientPool` holding 64 connections, one per event in flight.
 */
async function eventHandler(
  url: string,
  seedUrl: string,
  runs: number,
): Promise<Row> {
  // Both sides start from the same 10,000 subjects of 10 properties.
  await seedSubjects(seedUrl, "bench:event:ours:", SUBJECTS, 10);
  await seedSubjects(seedUrl, "bench:event:theirs:", SUBJECTS, 10);
  await using client = await createRedisClient(url);
  const krules = new KRules({
    storage: createRedisStorage(client, { keyPrefix: "bench:event:ours:" }),
  });
  const nodeRedis = createClient({ url });
  await nodeRedis.connect();
  // At least 64 connections: one per event in flight, and no idle clean-up
  // timer, which node-redis (5.9 at least) leaves running after close().
  const nodePool = createClientPool({ url }, { minimum: IN_FLIGHT });
  await nodePool.connect();
  try {
    const ours = async (s: number, event: number) => {
      const subject = krules.subject(`u${s}`);
      await subject.get("f0");
      await subject.set("a", event);
      await subject.set("b", "seen");
      await subject.set("c", { at: event });
      await subject.store();
      await subject.set("count", increment, { useCache: false });
    };
    const theirs = async (s: number, event: number) => {
      const key = `s:bench:event:theirs:u${s}`;
      const hash = await nodeRedis.hGetAll(key);
      const values: Record<string, unknown> = {};
      for (const field in hash) values[field] = JSON.parse(hash[field]);
      await nodeRedis.hSet(key, {
        pa: JSON.stringify(event),
        pb: JSON.stringify("seen"),
        pc: JSON.stringify({ at: event }),
      });
      await nodePool.execute((isolated) => watchIncrement(isolated, key));
    };
    // Warm up both JITs, and the pool up to its 64 connections.
    await runEvents(1000, [], ours);
    await runEvents(1000, [], theirs);
    const lat = { ours: [] as number[], theirs: [] as number[] };
    const results = await alternate(runs, {
      ours: () => runEvents(EVENTS, lat.ours, ours),
      theirs: () => runEvents(EVENTS, lat.theirs, theirs),
    });
    const ms = (values: number[]) =>
      `${percentile(values, 0.99).toFixed(1)} ms`;
    return {
      scenario:
        `event handler at +${ADDED_MS} ms: 64 events in flight over 10,000 subjects (events/s)`,
      ours: median(results.ours),
      baselines: {
        "node-redis by hand, createClientPool of 64": median(results.theirs),
      },
      target: 2.0,
      note: `p99 of an event: ours ${ms(lat.ours)}, node-redis ${
        ms(lat.theirs)
      }; ours sends 4 round trips per event, the baseline 5 and a pooled connection`,
    };
  } finally {
    await nodeRedis.quit();
    await nodePool.close();
  }
}

/**
 * The proxy row, then the rows through it, against a fresh server. The
 * proxy's one-way delay starts at half the target round trip and is corrected
 * up to three times by what `redis-benchmark -c 1` measures through it.
 */
export async function benchLatency(runs = 3): Promise<Row[]> {
  await using server = await startRedisServer();
  // The proxy's own hops add to its delay, by an amount that depends on
  // the machine: up to three corrections by what redis-benchmark measures.
  let oneWayMs = ADDED_MS / 2;
  let proxy = await startLatencyProxy(server.port, oneWayMs);
  let measured = await measureAddedRoundTrip(server.port, proxy.port);
  for (let step = 0; step < 3; step++) {
    const error = measured.addedMs - ADDED_MS;
    const next = Math.max(0.01, oneWayMs - error / 2);
    if (Math.abs(error) <= 0.05 || next === oneWayMs) break;
    await proxy[Symbol.asyncDispose]();
    oneWayMs = next;
    proxy = await startLatencyProxy(server.port, oneWayMs);
    measured = await measureAddedRoundTrip(server.port, proxy.port);
  }
  try {
    const rows: Row[] = [{
      scenario: "latency proxy: round trip it adds (ms)",
      ours: measured.addedMs,
      baselines: {},
      note: `redis-benchmark -c 1 PING: ${
        Math.round(measured.directRps)
      }/s direct, ${
        Math.round(measured.proxiedRps)
      }/s through the proxy; one-way delay set to ${
        (oneWayMs * 1000).toFixed(0)
      } µs`,
    }];
    rows.push(await eventHandler(proxy.url, server.url, runs));
    const contention = await benchContention({
      url: proxy.url,
      label: `contention at +${ADDED_MS} ms`,
      combinedTotal: 5_000,
      // About 16 increments per writer: with 2 each (128), the row measured
      // mostly how the first collision of all 64 writers resolves, not the
      // sustained contention a busy field sees.
      connectionsTotal: 1_000,
      runs,
      fair: true,
      target: 10,
    });
    // Writers racing on one field win at most once per round trip: the
    // rate of one PING in flight through the proxy bounds the fair row.
    contention[1].note += `; one win per round trip would be ${
      Math.round(measured.proxiedRps)
    }/s (redis-benchmark -c 1 PING through the proxy)`;
    rows.push(...contention);
    return rows;
  } finally {
    await proxy[Symbol.asyncDispose]();
  }
}

if (import.meta.main) {
  const { formatTable, summarize } = await import("./_table.ts");
  console.log(formatTable(summarize([await benchLatency(1)])));
}
