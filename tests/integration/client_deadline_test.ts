/**
 * Issue 10, item 1: `commandTimeoutMs` bounds the whole call, from `send()`
 * to settlement, including the time spent waiting for a connection.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  RedisClient,
  RedisConnectionError,
  RedisReplyError,
} from "../../mod.ts";
import { startRedisServer } from "../../testing.ts";
import { reportFigures } from "../helpers/figures.ts";

const TIMEOUT_MS = 400;
/** Scheduling slack on a loaded two-core machine. */
const MARGIN_MS = 300;

/** Times a call from just before it is made, as the deadline counts. */
async function timed<T>(
  call: () => Promise<T>,
): Promise<{ value: unknown; ms: number }> {
  const started = performance.now();
  const value = await call().catch((e) => e);
  return { value, ms: performance.now() - started };
}

Deno.test("server down: a call rejects within commandTimeoutMs with RedisConnectionError, the connect error as cause; the next call after restart succeeds", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: TIMEOUT_MS,
  });
  await server.kill();
  const { value: error, ms } = await timed(() => client.send(["PING"]));
  assert.ok(error instanceof RedisConnectionError, String(error));
  assert.ok(
    ms >= TIMEOUT_MS - 5 && ms < TIMEOUT_MS + MARGIN_MS,
    `rejected after ${ms} ms`,
  );
  assert.ok(
    error.cause instanceof Error,
    "the last connect error is the cause",
  );
  assert.match(error.message, new RegExp(`within ${TIMEOUT_MS} ms`));
  await server.restart();
  const { value: reply, ms: after } = await timed(() => client.send(["PING"]));
  assert.equal(reply, "PONG");
  assert.ok(after < TIMEOUT_MS + MARGIN_MS, `took ${after} ms`);
  assert.ok(client.stats.reconnects >= 1);
  reportFigures(
    `server down: PING rejected after ${
      ms.toFixed(0)
    } ms (commandTimeoutMs ${TIMEOUT_MS}); after restart PING answered in ${
      after.toFixed(0)
    } ms`,
  );
});

Deno.test("the offline queue is bounded by maxPendingCommands; past it send() rejects at once", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: TIMEOUT_MS,
    maxPendingCommands: 3,
  });
  await server.kill();
  const queued = [0, 1, 2].map((i) => client.send(["SET", `k${i}`, "v"]));
  const { value: error, ms } = await timed(() =>
    client.send(["SET", "k3", "v"])
  );
  assert.ok(error instanceof RedisConnectionError, String(error));
  assert.match(error.message, /maxPendingCommands \(3\)/);
  assert.ok(ms < 50, `rejected after ${ms} ms`);
  reportFigures(
    `offline queue full: the 4th command rejected after ${
      ms.toFixed(1)
    } ms (maxPendingCommands 3)`,
  );
  for (const result of await Promise.allSettled(queued)) {
    assert.equal(result.status, "rejected");
    assert.ok(result.reason instanceof RedisConnectionError);
  }
});

Deno.test("maxPendingCommands must be a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(
      () => new RedisClient("redis://127.0.0.1:1", { maxPendingCommands: bad }),
      TypeError,
    );
  }
});

Deno.test("a changed password: calls reject with WRONGPASS within the deadline, not after every reconnect attempt", async () => {
  await using server = await startRedisServer({
    config: ["requirepass old-pw"],
  });
  const url = server.url.replace("redis://", "redis://:old-pw@");
  await using client = await createRedisClient(url, {
    commandTimeoutMs: 2000,
  });
  await using admin = await createRedisClient(url);
  const id = await client.send(["CLIENT", "ID"]);
  await admin.send(["CONFIG", "SET", "requirepass", "new-pw"]);
  await admin.send(["CLIENT", "KILL", "ID", String(id)]);
  const { value: error, ms } = await timed(() => client.send(["PING"]));
  assert.ok(error instanceof RedisReplyError, String(error));
  assert.equal(error.code, "WRONGPASS");
  assert.ok(ms < 2000, `rejected after ${ms} ms`);
  assert.ok(!String(error.message).includes("old-pw"));
  reportFigures(
    `changed password: PING rejected with ${error.code} after ${
      ms.toFixed(0)
    } ms (commandTimeoutMs 2000)`,
  );
});
