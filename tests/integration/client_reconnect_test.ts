/**
 * Issue 18, item 12 (client): what a reconnect must keep and how long
 * commands wait for it, each end to end against a real redis-server.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  RedisConnectionError,
  RedisError,
  RedisReplyError,
  RedisTimeoutError,
} from "../../mod.ts";
import { notExecuted } from "../../src/client/errors.ts";
import { startRedisServer } from "../../testing.ts";
import { reportFigures } from "../helpers/figures.ts";

/** Scheduling slack on a loaded two-core machine. */
const MARGIN_MS = 400;

/** Times a call from just before it is made, as its deadline counts. */
async function timed(
  call: () => Promise<unknown>,
): Promise<{ value: unknown; ms: number }> {
  const started = performance.now();
  const value = await call().catch((e) => e);
  return { value, ms: performance.now() - started };
}

Deno.test("a reconnect keeps the URL's database, user and client name: a client on /2 still writes db 2 after the server restarts", async () => {
  await using server = await startRedisServer({
    config: ["user worker on >worker-pw ~* &* +@all", "user default off"],
  });
  const base = server.url.replace("redis://", "redis://worker:worker-pw@")
    .replace(/\/0$/, "");
  await using client = await createRedisClient(`${base}/2`, {
    clientName: "billing",
    reconnect: { baseDelayMs: 10, maxDelayMs: 100 },
  });
  await client.send(["SET", "before", "1"]);
  await server.restart();
  // The first command after the restart is the one a lost SELECT would misplace.
  assert.equal(await client.send(["SET", "after", "1"]), "OK");
  assert.ok(client.stats.reconnects >= 1, "it did reconnect");
  assert.equal(await client.send(["CLIENT", "GETNAME"]), "billing");
  assert.equal(await client.send(["ACL", "WHOAMI"]), "worker");
  await using db0 = await createRedisClient(`${base}/0`);
  await using db2 = await createRedisClient(`${base}/2`);
  assert.equal(await db2.send(["GET", "after"]), "1");
  assert.equal(await db0.send(["DBSIZE"]), 0, "nothing landed in db 0");
});

Deno.test("server down: every waiting command settles within its own deadline, not just the first", async () => {
  const TIMEOUT_MS = 600;
  const STAGGER_MS = 120;
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: TIMEOUT_MS,
    // Long backoff: a round of attempts outlasts every deadline here.
    reconnect: { baseDelayMs: 2000, maxDelayMs: 5000 },
  });
  await server.kill();
  const calls: Promise<{ value: unknown; ms: number }>[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, STAGGER_MS));
    calls.push(timed(() => client.send(["SET", `k${i}`, "v"])));
  }
  const results = await Promise.all(calls);
  for (const [i, { value, ms }] of results.entries()) {
    assert.ok(value instanceof RedisConnectionError, `${i}: ${value}`);
    assert.equal(value.executed, "no");
    assert.ok(
      ms >= TIMEOUT_MS - 5 && ms < TIMEOUT_MS + MARGIN_MS,
      `command ${i} settled after ${ms.toFixed(0)} ms`,
    );
  }
  reportFigures(
    `server down: 5 commands sent ${STAGGER_MS} ms apart settled after ${
      results.map((r) => r.ms.toFixed(0)).join(", ")
    } ms (commandTimeoutMs ${TIMEOUT_MS})`,
  );
});

Deno.test("a server LOADING its data during a reconnect is waited for within the deadline; a shorter deadline rejects in time, not executed", async () => {
  const KEYS = 20_000;
  await using server = await startRedisServer({
    // Loading takes KEYS × 50 µs, and the server answers LOADING meanwhile.
    config: ["key-load-delay 50", "loading-process-events-interval-bytes 1024"],
  });
  {
    await using loader = await createRedisClient(server.url);
    const sets: Promise<unknown>[] = [];
    for (let i = 0; i < KEYS; i++) sets.push(loader.send(["SET", `k${i}`, i]));
    await Promise.all(sets);
    await loader.send(["SAVE"]);
  }
  await using patient = await createRedisClient(server.url, {
    commandTimeoutMs: 15_000,
    reconnect: { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: 1000 },
  });
  await using hasty = await createRedisClient(server.url, {
    commandTimeoutMs: 300,
    reconnect: { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: 1000 },
  });
  const refusals: string[] = [];
  patient.addEventListener("error", (event) => {
    const error = (event as Event & { error: unknown }).error;
    if (error instanceof RedisReplyError) refusals.push(error.code);
  });
  await server.kill();
  const restarted = server.restart();
  const [write, short] = await Promise.all([
    timed(() => patient.send(["SET", "during", "loading"])),
    timed(() => hasty.send(["SET", "hasty", "1"])),
  ]);
  await restarted;
  assert.ok(
    refusals.includes("LOADING"),
    `the reconnect met a loading server: ${refusals}`,
  );
  assert.equal(write.value, "OK", String(write.value));
  assert.ok(write.ms < 15_000);
  assert.ok(short.value instanceof RedisError, String(short.value));
  assert.ok(notExecuted(short.value), String(short.value));
  assert.ok(short.ms < 300 + MARGIN_MS, `rejected after ${short.ms} ms`);
  assert.equal(await patient.send(["GET", "during"]), "loading");
  assert.equal(await patient.send(["DBSIZE"]), KEYS + 1);
  reportFigures(
    `LOADING during reconnect: the write waited ${
      write.ms.toFixed(0)
    } ms and succeeded; a 300 ms command rejected after ${
      short.ms.toFixed(0)
    } ms`,
  );
});

/** Keeps the server busy for a millisecond; ARGV[1] pads the command. */
const BUSY_MS = `local s = redis.call('TIME')
local t0 = s[1] * 1000000 + s[2]
repeat local n = redis.call('TIME') until n[1] * 1000000 + n[2] - t0 >= 1000
return 1`;

Deno.test("overload: with thousands of timed-out commands whose replies still trickle in, a new command still gets its own timeout", async () => {
  const TIMEOUT_MS = 300;
  const SLOW = 2000;
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: TIMEOUT_MS,
  });
  // Padded so that the server reads only a few per read: their replies come
  // a few at a time for about two seconds, most long after their deadlines,
  // and the connection never falls silent.
  const pad = "x".repeat(1024);
  const slow = Array.from(
    { length: SLOW },
    () => client.send(["EVAL", BUSY_MS, 0, pad]).catch((e) => e),
  );
  // Sent in one tick, they share a deadline: the last one times out with
  // every other one still unanswered.
  assert.ok((await slow[SLOW - 1]) instanceof RedisTimeoutError);
  const late: { value: unknown; ms: number }[] = [];
  for (let i = 0; i < 3; i++) {
    late.push(await timed(() => client.send(["PING"])));
  }
  const outcomes = await Promise.all(slow);
  const timedOut = outcomes.filter((e) => e instanceof RedisTimeoutError);
  assert.ok(timedOut.length > SLOW / 2, `${timedOut.length} timed out`);
  for (const { value, ms } of late) {
    assert.ok(value instanceof RedisError || value === "PONG", String(value));
    assert.ok(ms < TIMEOUT_MS + MARGIN_MS, `a new command took ${ms} ms`);
    if (value instanceof RedisTimeoutError) {
      assert.ok(ms >= TIMEOUT_MS - 5, `it timed out after only ${ms} ms`);
    }
  }
  reportFigures(
    `overload: ${timedOut.length} of ${SLOW} commands timed out while their replies trickled in; new commands then settled after ${
      late.map((l) =>
        `${l.ms.toFixed(0)} ms (${
          l.value instanceof Error ? l.value.name : l.value
        })`
      ).join(", ")
    } (commandTimeoutMs ${TIMEOUT_MS}), ${client.stats.reconnects} reconnects`,
  );
});

Deno.test("a command sent after others still waiting times out at its own deadline, after theirs passed, while replies keep coming", async () => {
  const TIMEOUT_MS = 300;
  const STAGGER_MS = 100;
  const SLOW = 2000;
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: TIMEOUT_MS,
  });
  // Their replies trickle in for about two seconds: the connection is
  // alive, and the PING's reply comes only after all of them.
  const pad = "x".repeat(1024);
  const slow = Array.from(
    { length: SLOW },
    () => client.send(["EVAL", BUSY_MS, 0, pad]).catch((e) => e),
  );
  // A later tick, so a later deadline than theirs.
  await new Promise((r) => setTimeout(r, STAGGER_MS));
  const ping = await timed(() => client.send(["PING"]));
  const outcomes = await Promise.all(slow);
  assert.ok(
    outcomes.filter((e) => e instanceof RedisTimeoutError).length > SLOW / 2,
    "most of the slow commands timed out",
  );
  assert.ok(ping.value instanceof RedisTimeoutError, String(ping.value));
  assert.ok(
    ping.ms >= TIMEOUT_MS - 5 && ping.ms < TIMEOUT_MS + MARGIN_MS,
    `the PING settled after ${ping.ms.toFixed(0)} ms`,
  );
});
