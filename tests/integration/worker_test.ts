/**
 * `examples/worker.ts` route by route, run by `deno serve` against a
 * throwaway Redis.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisClient, type RedisClient } from "../../mod.ts";
import { startRedisServer } from "../../src/testing/redis_server.ts";
import { startWorkers } from "../helpers/worker.ts";

async function call(
  origin: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${origin}${path}`, { method, body });
  assert.match(response.headers.get("content-type") ?? "", /json/);
  return { status: response.status, body: await response.json() };
}

/** How many HSETs the server has run, inside scripts or not. */
async function hsetCalls(client: RedisClient): Promise<number> {
  const info = String(await client.send(["INFO", "commandstats"]));
  return Number(info.match(/^cmdstat_hset:calls=(\d+)/m)?.[1] ?? 0);
}

/** Resolves once Redis holds back a client's command (a `CLIENT PAUSE` at work). */
async function untilAClientIsHeld(client: RedisClient): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const info = String(await client.send(["INFO", "clients"]));
    if (Number(info.match(/^blocked_clients:(\d+)/m)?.[1]) > 0) return;
  }
  throw new Error("no client's command was held back within 5 s");
}

Deno.test("worker: GET, PUT and POST incr do what the routes say; bad bodies get 400, unknown routes 404, nothing written", async () => {
  await using server = await startRedisServer();
  await using fleet = await startWorkers(1, {
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: "w:",
  });
  const [origin] = fleet.origins;
  await using redis = await createRedisClient(server.url);

  assert.deepEqual(await call(origin, "GET", "/subjects/user-1"), {
    status: 200,
    body: { name: "user-1", ext: {} },
  });

  const hsetsBefore = await hsetCalls(redis);
  const put = await call(
    origin,
    "PUT",
    "/subjects/user-1",
    JSON.stringify({ email: "ada@example.com", tags: ["a"], n: null }),
  );
  assert.deepEqual(put, {
    status: 200,
    body: {
      name: "user-1",
      email: "ada@example.com",
      tags: ["a"],
      n: null,
      ext: {},
    },
  });
  // Three cached sets, then one store(): all three fields in one HSET.
  assert.equal(await hsetCalls(redis) - hsetsBefore, 1);
  assert.deepEqual(await redis.send(["HGETALL", "s:w:user-1"]), [
    "pemail",
    '"ada@example.com"',
    "ptags",
    '["a"]',
    "pn",
    "null",
  ]);

  for (const expected of [1, 2, 3]) {
    assert.deepEqual(
      await call(origin, "POST", "/subjects/user-1/incr/logins"),
      { status: 200, body: { value: expected } },
    );
  }
  // Percent-encoded names reach the storage decoded.
  assert.deepEqual(
    await call(origin, "POST", "/subjects/caf%C3%A9%20bar/incr/n%2F1"),
    { status: 200, body: { value: 1 } },
  );
  assert.equal(await redis.send(["HGET", "s:w:café bar", "pn/1"]), "1");

  const dump = async () => {
    const keys = (await redis.send(["KEYS", "*"]) as string[]).sort();
    return await Promise.all(keys.map((k) => redis.send(["DUMP", k])));
  };
  const before = await dump();
  const rejected: [string, string, string | undefined, number, RegExp][] = [
    ["PUT", "/subjects/user-1", "{not json", 400, /not valid JSON/],
    ["PUT", "/subjects/user-1", "", 400, /not valid JSON/],
    ["PUT", "/subjects/user-1", "[1,2]", 400, /JSON object/],
    ["PUT", "/subjects/user-1", "null", 400, /JSON object/],
    ["PUT", "/subjects/user-1", '"text"', 400, /JSON object/],
    ["PUT", "/subjects/user-1", "42", 400, /JSON object/],
    ["PUT", "/subjects/user-1", '{"\\ud800": 1}', 400, /well-formed/],
    // A number JSON reads as Infinity: 400, and the good property beside it is not written either.
    ["PUT", "/subjects/user-1", '{"ok": 1, "n": 1e400}', 400, /Infinity/],
    [
      "PUT",
      "/subjects/user-1",
      '{"at": {"deep": [1, -1e999]}}',
      400,
      /-Infinity/,
    ],
    // Incrementing a string answers 409 and leaves the string alone.
    [
      "POST",
      "/subjects/user-1/incr/email",
      undefined,
      409,
      /"email".*not a number/,
    ],
    ["GET", "/subjects/%E0%A4%A", undefined, 400, /percent-encoding/],
    ["GET", "/nowhere", undefined, 404, /Not found/],
    ["GET", "/subjects/", undefined, 404, /Not found/],
    ["DELETE", "/subjects/user-1", undefined, 404, /Not found/],
    ["GET", "/subjects/user-1/incr/logins", undefined, 404, /Not found/],
  ];
  for (const [method, path, body, status, error] of rejected) {
    const reply = await call(origin, method, path, body);
    assert.equal(reply.status, status, `${method} ${path} ${body}`);
    assert.match(String(reply.body.error), error);
  }
  assert.deepEqual(await dump(), before);
  assert.equal(
    (await call(origin, "GET", "/subjects/user-1")).body.logins,
    3,
  );
});

Deno.test("worker: Redis down at the first request gets 503; once Redis is up the same worker answers 200", async () => {
  await using server = await startRedisServer();
  // Down from the start: the port and directory stay reserved for restart().
  await server.kill();
  await using fleet = await startWorkers(1, {
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: "w:",
  });
  const [origin] = fleet.origins;
  for (const path of ["/subjects/a", "/subjects/a/incr/n"]) {
    const reply = await call(
      origin,
      path.includes("incr") ? "POST" : "GET",
      path,
    );
    assert.equal(reply.status, 503);
    assert.match(String(reply.body.error), /Redis is unavailable/);
  }
  await server.restart();
  assert.deepEqual(await call(origin, "POST", "/subjects/a/incr/n"), {
    status: 200,
    body: { value: 1 },
  });
});

Deno.test("worker: SIGTERM in the middle of requests: requests in flight finish and store, every acknowledged write is in Redis, and the worker exits", async () => {
  await using server = await startRedisServer();
  await using fleet = await startWorkers(1, {
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: "w:",
  });
  const [origin] = fleet.origins;
  await using redis = await createRedisClient(server.url);
  const LANES = 32;
  const ACKS_BEFORE_SIGNAL = 300;

  let acked = 0;
  let signalled = false;
  let ackedAfterSignal = 0;
  const enough = Promise.withResolvers<void>();
  // Each PUT writes a subject of its own; each POST increments its lane's counter.
  const putsAcked: { name: string; i: number; k: number }[] = [];
  const putsRefused: string[] = [];
  const increments = Array.from(
    { length: LANES },
    () => ({ acked: 0, unknown: 0 }),
  );
  const unexpected: string[] = [];

  const lane = async (i: number) => {
    for (let k = 0;; k++) {
      const put = k % 2 === 0;
      const name = put ? `p-${i}-${k}` : `c-${i}`;
      let status: number;
      let body: { error?: string };
      try {
        const response = await fetch(
          put
            ? `${origin}/subjects/${name}`
            : `${origin}/subjects/${name}/incr/n`,
          {
            method: put ? "PUT" : "POST",
            body: put ? `{"i":${i},"k":${k}}` : undefined,
          },
        );
        status = response.status;
        body = await response.json();
      } catch {
        // Refused or cut off: the worker stopped taking requests. Whether
        // this one ran is unknown, so it counts for neither side.
        if (!put) increments[i].unknown++;
        return;
      }
      if (status === 200) {
        acked++;
        if (signalled) ackedAfterSignal++;
        if (acked === ACKS_BEFORE_SIGNAL) enough.resolve();
        if (put) putsAcked.push({ name, i, k });
        else increments[i].acked++;
      } else if (status === 503 && /shutting down/.test(body.error ?? "")) {
        if (put) putsRefused.push(name);
        return;
      } else {
        unexpected.push(`${status} ${JSON.stringify(body)}`);
        return;
      }
    }
  };
  const lanes = Array.from({ length: LANES }, (_, i) => lane(i));
  await enough.promise;
  // However fast the worker answers, requests are in flight at the signal:
  // Redis holds back every write from the moment the worker's connection
  // waits on one until the worker says it is stopping. The worker's calls
  // time out after a second, so the hold is kept short.
  await redis.send(["CLIENT", "PAUSE", "5000", "WRITE"]);
  await untilAClientIsHeld(redis);
  const stopping = fleet.printed(/Stopping: (\d+) requests in flight/);
  fleet.signal("SIGTERM");
  signalled = true;
  const [, inFlightAtSignal] = await stopping;
  await redis.send(["CLIENT", "UNPAUSE"]);
  await Promise.all(lanes);
  const [{ status, output }] = await fleet.exited();

  assert.equal(status.code, 0, output);
  assert.ok(Number(inFlightAtSignal) > 0, output);
  // The requests in flight at the signal were finished, not failed: each
  // was answered 200 after it.
  assert.deepEqual(unexpected, []);
  assert.ok(
    ackedAfterSignal >= Number(inFlightAtSignal),
    `${ackedAfterSignal} requests answered after the signal, ${inFlightAtSignal} in flight at it`,
  );
  for (const { name, i, k } of putsAcked) {
    assert.deepEqual(
      await redis.send(["HGETALL", `s:w:${name}`]),
      ["pi", String(i), "pk", String(k)],
      name,
    );
  }
  for (const name of putsRefused) {
    assert.equal(await redis.send(["EXISTS", `s:w:${name}`]), 0, name);
  }
  assert.match(output, /Stopping: \d+ requests in flight/);
  assert.doesNotMatch(output, /never stored/);
  for (let i = 0; i < LANES; i++) {
    const stored = Number(await redis.send(["HGET", `s:w:c-${i}`, "pn"]) ?? 0);
    const { acked, unknown } = increments[i];
    // Every acknowledged increment is stored; at most the unknown ones more.
    assert.ok(
      stored >= acked && stored <= acked + unknown,
      `lane ${i}: ${stored} stored, ${acked} acknowledged, ${unknown} unknown`,
    );
  }
});
