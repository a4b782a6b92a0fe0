/**
 * `examples/worker.ts` route by route, run by `deno serve` against a
 * throwaway Redis.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisClient, type RedisClient } from "../mod.ts";
import { startRedisServer } from "../src/testing/redis_server.ts";
import { startWorkers } from "./helpers_worker.ts";

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
