/**
 * `examples/worker.ts` under load: four `deno serve` processes on one
 * throwaway Redis, 64 concurrent connections, 20,000 atomic increments over
 * 100 subjects. Every counter must come out exact. Then Redis goes away and
 * comes back: the workers answer 503 meanwhile and recover by themselves.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisClient } from "../../mod.ts";
import { startRedisServer } from "../../src/testing/redis_server.ts";
import { startWorkers } from "../helpers/worker.ts";
import { reportFigures } from "../helpers/figures.ts";

const WORKERS = 4;
const CONNECTIONS = 64;
const REQUESTS = 20_000;
const SUBJECTS = 100;
const PREFIX = "load:";

/** A small seeded PRNG, so every run sends the same uneven spread of requests. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)];
}

Deno.test("4 workers × 64 connections × 20,000 increments over 100 subjects: every counter exact", async () => {
  await using server = await startRedisServer();
  await using fleet = await startWorkers(WORKERS, {
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: PREFIX,
  });
  // Skewed on purpose (squaring the draw favours low numbers), so that some
  // subjects are hot and contended across all four processes.
  const random = mulberry32(5);
  const plan = Array.from(
    { length: REQUESTS },
    () => Math.floor(random() ** 2 * SUBJECTS),
  );
  const sent = new Array<number>(SUBJECTS).fill(0);
  for (const subject of plan) sent[subject]++;

  // The first request of each isolate connects to Redis: not part of the load.
  for (const origin of fleet.origins) {
    const response = await fetch(`${origin}/subjects/warm-up`);
    assert.equal(response.status, 200, await response.text());
  }

  const returned: number[][] = Array.from({ length: SUBJECTS }, () => []);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, lane) => {
      const origin = fleet.origins[lane % WORKERS];
      while (next < REQUESTS) {
        const subject = plan[next++];
        const sentAt = performance.now();
        const response = await fetch(
          `${origin}/subjects/counter-${subject}/incr/hits`,
          { method: "POST" },
        );
        const body = await response.json();
        latencies.push(performance.now() - sentAt);
        assert.equal(response.status, 200, JSON.stringify(body));
        returned[subject].push(body.value);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  await using client = await createRedisClient(server.url);
  let total = 0;
  for (let subject = 0; subject < SUBJECTS; subject++) {
    const stored = Number(
      await client.send(["HGET", `s:${PREFIX}counter-${subject}`, "phits"]),
    );
    assert.equal(stored, sent[subject], `counter-${subject}`);
    // Each increment handed out its own value: 1..n, none twice, none lost.
    assert.deepEqual(
      returned[subject].sort((a, b) => a - b),
      Array.from({ length: sent[subject] }, (_, i) => i + 1),
    );
    total += stored;
  }
  assert.equal(total, REQUESTS);
  assert.equal(latencies.length, REQUESTS);

  latencies.sort((a, b) => a - b);
  reportFigures(
    `load: ${REQUESTS} increments over ${SUBJECTS} subjects (hottest ${
      Math.max(...sent)
    }), ${WORKERS} workers, ${CONNECTIONS} connections: ${
      Math.round(REQUESTS / seconds)
    } req/s, p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${
      percentile(latencies, 0.99).toFixed(1)
    } ms; sum ${total}, every counter exact`,
  );
});

Deno.test("while Redis is down every worker answers 503, and after a restart 200 again, by itself", async () => {
  await using server = await startRedisServer();
  await using fleet = await startWorkers(WORKERS, {
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: PREFIX,
  });
  const incr = async (origin: string) => {
    const response = await fetch(`${origin}/subjects/s/incr/n`, {
      method: "POST",
    });
    return { status: response.status, body: await response.json() };
  };
  for (const origin of fleet.origins) {
    assert.equal((await incr(origin)).status, 200);
  }

  await server.kill();
  for (const origin of fleet.origins) {
    // Twice: once for the dropped connection, once for a fresh attempt.
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const { status, body } = await incr(origin);
      assert.equal(status, 503);
      assert.match(body.error, /Redis is unavailable/);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 2000, `503 took ${elapsed} ms`);
    }
  }

  // Without persistence the restarted server is empty: counting starts anew.
  await server.restart();
  const values = [];
  for (const origin of fleet.origins) {
    const { status, body } = await incr(origin);
    assert.equal(status, 200, JSON.stringify(body));
    values.push(body.value);
  }
  assert.deepEqual(values, [1, 2, 3, 4]);
});
