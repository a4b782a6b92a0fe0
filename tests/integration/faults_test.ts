/**
 * Faults against throwaway servers, counted exactly: a crash under four
 * concurrent writers, a stall under load, a restart that empties the script
 * cache, and no server at all.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisStorage,
  KRules,
  type RedisClient,
  RedisConnectionError,
  RedisTimeoutError,
} from "../../mod.ts";
import { SubjectProperty } from "../../storage.ts";
import { startRedisServer } from "../../src/testing/redis_server.ts";
import { closedPort } from "../../src/testing/closed_port.ts";
import { reportFigures } from "../helpers/figures.ts";

const FAST_RECONNECT = { baseDelayMs: 10, maxDelayMs: 100, maxAttempts: 100 };

/** The 10 fields a writer stores for one subject, as the hash will hold them. */
function fieldsOf(name: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let f = 0; f < 10; f++) {
    fields[`pf${f}`] = JSON.stringify({ subject: name, field: f });
  }
  return fields;
}

function hashToRecord(reply: unknown): Record<string, string> {
  const items = reply as string[];
  const record: Record<string, string> = {};
  for (let i = 0; i < items.length; i += 2) record[items[i]] = items[i + 1];
  return record;
}

async function openClients(
  count: number,
  url: string,
  options: Parameters<typeof createRedisClient>[1],
  stack: AsyncDisposableStack,
): Promise<RedisClient[]> {
  const clients: RedisClient[] = [];
  for (let i = 0; i < count; i++) {
    clients.push(stack.use(await createRedisClient(url, options)));
  }
  return clients;
}

type Phase = "before kill" | "down" | "after restart";

interface StoreRecord {
  readonly name: string;
  outcome?: "resolved" | "rejected";
  settledIn?: Phase;
  error?: unknown;
}

Deno.test("crash: SIGKILL under 4 concurrent writers loses no acknowledged store, writes no half subject, and the clients reconnect by themselves", async () => {
  const WRITERS = 4;
  const KILL_AFTER = 1000;
  const AFTER_RESTART = 100;
  await using server = await startRedisServer({
    config: ["appendonly yes", "appendfsync always"],
  });
  await using stack = new AsyncDisposableStack();
  const clients = await openClients(WRITERS, server.url, {
    reconnect: FAST_RECONNECT,
  }, stack);

  let phase: Phase = "before kill";
  let stopped = false;
  const records: StoreRecord[] = [];
  let resolvedBeforeKill = 0;
  const resolvedAfter = new Array<number>(WRITERS).fill(0);
  const killNow = Promise.withResolvers<void>();
  const enoughAfter = Promise.withResolvers<void>();

  const writer = async (w: number) => {
    const storage = createRedisStorage(clients[w], { keyPrefix: "crash:" });
    for (let i = 0; !stopped; i++) {
      const record: StoreRecord = { name: `w${w}-${i}` };
      records.push(record);
      const inserts = Object.entries(fieldsOf(record.name)).map(
        ([field, json]) =>
          new SubjectProperty(field.slice(1), JSON.parse(json)),
      );
      try {
        await storage(record.name).store({ inserts });
        record.outcome = "resolved";
        if (phase === "before kill" && ++resolvedBeforeKill === KILL_AFTER) {
          killNow.resolve();
        }
        if (phase === "after restart") {
          resolvedAfter[w]++;
          if (resolvedAfter.every((n) => n >= AFTER_RESTART)) {
            enoughAfter.resolve();
          }
        }
      } catch (error) {
        record.outcome = "rejected";
        record.error = error;
      }
      record.settledIn = phase;
    }
  };
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));

  await killNow.promise;
  phase = "down";
  await server.kill();
  await server.restart();
  phase = "after restart";
  await enoughAfter.promise;
  stopped = true;
  await Promise.all(writers);

  await using check = await createRedisClient(server.url);
  const present = new Set<string>();
  const partial: string[] = [];
  for (const record of records) {
    const stored = hashToRecord(
      await check.send(["HGETALL", `s:crash:${record.name}`]),
    );
    const count = Object.keys(stored).length;
    if (count === 0) continue;
    if (count !== 10) partial.push(`${record.name} has ${count} fields`);
    assert.deepEqual(stored, fieldsOf(record.name), record.name);
    present.add(record.name);
  }
  assert.deepEqual(partial, [], "no subject is partially written");

  const resolved = records.filter((r) => r.outcome === "resolved");
  const rejected = records.filter((r) => r.outcome === "rejected");
  assert.equal(resolved.length + rejected.length, records.length);
  const lost = resolved.filter((r) => !present.has(r.name)).map((r) => r.name);
  assert.deepEqual(lost, [], "every acknowledged store survived the crash");
  assert.equal(
    resolved.filter((r) => r.settledIn === "before kill").length,
    resolvedBeforeKill,
  );
  assert.ok(resolvedBeforeKill >= KILL_AFTER);
  const wrongErrors = rejected
    .filter((r) => !(r.error instanceof RedisConnectionError))
    .map((r) => `${r.name}: ${r.error}`);
  assert.deepEqual(wrongErrors, [], "rejections are RedisConnectionError");
  // A rejected store may or may not have reached the AOF before the kill;
  // either way it is whole or absent, which the loop above checked.
  const appliedButRejected = rejected.filter((r) => present.has(r.name));
  assert.equal(present.size, resolved.length + appliedButRejected.length);
  for (const [w, client] of clients.entries()) {
    assert.ok(client.stats.reconnects >= 1, `writer ${w} never reconnected`);
    assert.ok(resolvedAfter[w] >= AFTER_RESTART);
  }
  reportFigures(
    `crash: ${records.length} stores, ${resolvedBeforeKill} acknowledged before the kill, ${rejected.length} rejected (all RedisConnectionError, ${appliedButRejected.length} of them whole in the AOF anyway), 0 lost, 0 partial; ${clients.length} clients reconnected by themselves`,
  );
});

Deno.test("stall: a paused server under load fails every command within the timeout, and the silent connections are replaced; after resume the same clients go on", async () => {
  const CLIENTS = 4;
  const LANES = 8;
  const TIMEOUT_MS = 300;
  const MARGIN_MS = 250;
  await using server = await startRedisServer();
  await using stack = new AsyncDisposableStack();
  const clients = await openClients(CLIENTS, server.url, {
    commandTimeoutMs: TIMEOUT_MS,
  }, stack);

  let state: "before" | "paused" | "resumed" = "before";
  let stopped = false;
  let okBefore = 0;
  const timeouts = new Array<number>(CLIENTS).fill(0);
  const failures = new Array<number>(CLIENTS).fill(0);
  const okAfter = new Array<number>(CLIENTS).fill(0);
  const other: string[] = [];
  const slow: string[] = [];
  const failureLatencies: number[] = [];
  let slowest = 0;
  const pauseNow = Promise.withResolvers<void>();
  const resumeNow = Promise.withResolvers<void>();
  const enoughAfter = Promise.withResolvers<void>();

  const lane = async (c: number, l: number) => {
    const client = clients[c];
    for (let i = 0; !stopped; i++) {
      const key = `stall:${c}:${l}`;
      const command = i % 2 === 0 ? ["SET", key, String(i)] : ["GET", key];
      const started = performance.now();
      try {
        await client.send(command);
        if (state === "before" && ++okBefore === 500) pauseNow.resolve();
        if (state === "resumed") {
          okAfter[c]++;
          if (okAfter.every((n) => n >= 100)) enoughAfter.resolve();
        }
      } catch (error) {
        const elapsed = performance.now() - started;
        if (error instanceof RedisTimeoutError) {
          // Never early: the timeout counts from the tick the command was sent in.
          failureLatencies.push(elapsed);
          timeouts[c]++;
        } else if (!(error instanceof RedisConnectionError)) {
          // The connection retired as presumed dead fails what it still
          // held; commands waiting for a new one fail at their deadline.
          other.push(String(error));
        }
        failures[c]++;
        if (failures.every((n) => n >= 2 * LANES)) resumeNow.resolve();
      }
      const elapsed = performance.now() - started;
      slowest = Math.max(slowest, elapsed);
      if (elapsed > TIMEOUT_MS + MARGIN_MS) {
        slow.push(`${command[0]} took ${elapsed.toFixed(0)} ms`);
      }
    }
  };
  const lanes = Array.from(
    { length: CLIENTS * LANES },
    (_, i) => lane(Math.floor(i / LANES), i % LANES),
  );

  await pauseNow.promise;
  state = "paused";
  server.pause();
  try {
    await resumeNow.promise;
  } finally {
    server.resume();
  }
  state = "resumed";
  await enoughAfter.promise;
  stopped = true;
  await Promise.all(lanes);

  assert.deepEqual(
    other,
    [],
    "every failure is a RedisTimeoutError or RedisConnectionError",
  );
  assert.deepEqual(slow, [], "no command outlived the timeout plus margin");
  assert.ok(timeouts.every((n) => n >= 1), "each client saw a timeout");
  for (const elapsed of failureLatencies) {
    assert.ok(elapsed >= TIMEOUT_MS - 5, `timed out after ${elapsed} ms`);
  }
  for (const [c, client] of clients.entries()) {
    // A pause longer than the timeout ends in a reconnect.
    assert.ok(client.stats.reconnects >= 1, `client ${c} never reconnected`);
    assert.ok(okAfter[c] >= 100);
    assert.equal(await client.send(["SET", `stall:${c}`, "x"]), "OK");
    assert.equal(await client.send(["GET", `stall:${c}`]), "x");
  }
  const sorted = [...failureLatencies].sort((a, b) => a - b);
  const failed = failures.reduce((a, b) => a + b, 0);
  reportFigures(
    `stall: ${failed} commands failed, none after more than ${
      slowest.toFixed(0)
    } ms (limit ${TIMEOUT_MS} ms); ${sorted.length} of them timed out after ${
      sorted[0].toFixed(0)
    }-${
      sorted[sorted.length - 1].toFixed(0)
    } ms, the rest failed with RedisConnectionError when the silent connections were retired; after resume ${
      okAfter.reduce((a, b) => a + b, 0)
    } commands succeeded on the same ${clients.length} clients, which reconnected by themselves`,
  );
});

Deno.test("restart with an empty script cache: the next compare-and-set, set and store succeed on the same client (NOSCRIPT falls back to EVAL)", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    reconnect: FAST_RECONNECT,
  });
  const factory = createRedisStorage(client, { keyPrefix: "ns:" });
  const subject = new KRules({ storage: factory }).subject("s");
  const increment = (n: unknown) => (typeof n === "number" ? n : 0) + 1;
  const p = (name: string, value?: unknown) => new SubjectProperty(name, value);

  // Each script runs once, so the client sends EVALSHA for it from now on.
  assert.deepEqual(
    await subject.set("n", increment, { useCache: false }),
    [1, undefined],
  );
  assert.deepEqual(await subject.set("m", "a", { useCache: false }), [
    "a",
    undefined,
  ]);
  await factory("s").store({ inserts: [p("x", 1)], deletes: [p("m")] });

  // Without persistence the restarted server has no data and no scripts.
  await server.restart();
  assert.deepEqual(
    await subject.set("n", increment, { useCache: false }),
    [1, undefined],
  );
  assert.deepEqual(await subject.set("m", "b", { useCache: false }), [
    "b",
    undefined,
  ]);
  await factory("s").store({ inserts: [p("x", 2)], deletes: [p("m")] });
  assert.deepEqual(await factory("s").load(), [{ n: 1, x: 2 }, {}]);

  const errorstats = String(await client.send(["INFO", "errorstats"]));
  assert.match(
    errorstats,
    /errorstat_NOSCRIPT:count=3\b/,
    "each of the three scripts met NOSCRIPT once, then ran with EVAL",
  );
  assert.equal(client.stats.reconnects, 1);
});

Deno.test("no server: createRedisClient rejects within connectTimeoutMs with a RedisConnectionError naming the server", async () => {
  const CONNECT_TIMEOUT_MS = 500;
  // A port nobody listens on: refused at once.
  const port = await closedPort();
  let started = performance.now();
  const refused = await createRedisClient(
    `redis://:pw@127.0.0.1:${port}/0`,
    { connectTimeoutMs: CONNECT_TIMEOUT_MS },
  ).catch((e) => e);
  let elapsed = performance.now() - started;
  assert.ok(refused instanceof RedisConnectionError, String(refused));
  assert.match(
    refused.message,
    new RegExp(
      `^Cannot connect to redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/0: .*refused`,
      "i",
    ),
  );
  assert.ok(elapsed < CONNECT_TIMEOUT_MS, `refused after ${elapsed} ms`);

  // A peer that accepts the socket but never answers the handshake: the
  // connect timeout bounds the wait, and it is still a connection failure.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) accepted.push(conn);
  })();
  try {
    started = performance.now();
    const error = await createRedisClient(
      `redis://:pw@127.0.0.1:${silent.addr.port}/0`,
      { connectTimeoutMs: CONNECT_TIMEOUT_MS },
    ).catch((e) => e);
    elapsed = performance.now() - started;
    assert.ok(error instanceof RedisConnectionError, String(error));
    assert.match(
      error.message,
      /^Cannot connect to redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: the peer accepted the connection but did not answer PING within 500 ms/,
    );
    assert.ok(
      elapsed >= CONNECT_TIMEOUT_MS - 5 && elapsed < CONNECT_TIMEOUT_MS + 250,
      `gave up after ${elapsed} ms`,
    );
    assert.equal(accepted.length, 1);
  } finally {
    silent.close();
    await accepting;
    for (const conn of accepted) conn.close();
  }
});
