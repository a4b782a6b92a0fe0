/**
 * Issue 18, item 3 (client side): every rejection says whether the command
 * may have run. A command that never left the client is `executed: "no"`
 * (safe to send again); one written before the connection or the deadline
 * failed is `"maybe"`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  RedisClient,
  RedisConnectionError,
  RedisError,
  RedisTimeoutError,
} from "../../mod.ts";
import { notExecuted } from "../../src/client/errors.ts";
import { startRedisServer } from "../../testing.ts";

/** What `call` rejected with, which must be a RedisError marked `executed`. */
async function rejection(
  call: Promise<unknown>,
  executed: "no" | "maybe",
): Promise<RedisError> {
  const error = await call.then(
    (value) => assert.fail(`resolved with ${JSON.stringify(value)}`),
    (e) => e,
  );
  assert.ok(error instanceof RedisError, String(error));
  assert.equal(error.executed, executed, `${error.name}: ${error.message}`);
  assert.equal(notExecuted(error), executed === "no");
  return error;
}

/** Resolves once the client has handed a batch to its socket. */
async function written(client: RedisClient, writesBefore: number) {
  while (client.stats.writes === writesBefore) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

Deno.test('not executed: a command that waited for a connection while the server was down rejects with executed "no"', async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: 300,
  });
  await server.kill();
  const error = await rejection(client.send(["SET", "k", "v"]), "no");
  assert.ok(error instanceof RedisConnectionError);
  await server.restart();
  assert.equal(await client.send(["GET", "k"]), null, "it was never sent");
});

Deno.test('not executed: the offline queue full, the reconnect round over, reconnect disabled, the client closed: executed "no"', async () => {
  await using server = await startRedisServer();
  await using full = await createRedisClient(server.url, {
    commandTimeoutMs: 2000,
    maxPendingCommands: 1,
  });
  await using oneRound = await createRedisClient(server.url, {
    commandTimeoutMs: 10_000,
    reconnect: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  });
  await using noReconnect = await createRedisClient(server.url, {
    reconnect: false,
  });
  await server.kill();
  const queued = full.send(["SET", "a", "1"]);
  queued.catch(() => {}); // Checked below; a failure above must not leave it unhandled.
  await rejection(full.send(["SET", "b", "1"]), "no");
  // Every attempt of the round fails: what waits gets the last error.
  await rejection(oneRound.send(["SET", "c", "1"]), "no");
  await rejection(noReconnect.send(["SET", "d", "1"]), "no");
  // Closing the client fails the command still waiting, then refuses new ones.
  const closing = full.close();
  await rejection(queued, "no");
  await closing;
  await rejection(full.send(["SET", "e", "1"]), "no");
  // A lazily connecting client whose first connect fails.
  await using lazy = new RedisClient(server.url, {
    reconnect: { maxAttempts: 1 },
  });
  await rejection(lazy.send(["SET", "f", "1"]), "no");
});

Deno.test("not executed: a guard refusal is a TypeError, which notExecuted() counts as not executed", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url);
  const error = await client.send(["MULTI"]).catch((e) => e);
  assert.ok(error instanceof TypeError);
  assert.ok(notExecuted(error));
});

Deno.test('maybe executed: a command written to a paused server times out with executed "maybe", and did run', async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: 300,
  });
  server.pause();
  try {
    const error = await rejection(client.send(["SET", "k", "v"]), "maybe");
    assert.ok(error instanceof RedisTimeoutError);
  } finally {
    server.resume();
  }
  assert.equal(await client.send(["GET", "k"]), "v", "why it is 'maybe'");
});

Deno.test('maybe executed: commands written before the connection dropped reject with executed "maybe"', async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: 10_000,
  });
  server.pause();
  const writes = client.stats.writes;
  const sent = Array.from(
    { length: 10 },
    (_, i) => client.send(["SET", `k${i}`, "v"]),
  );
  await written(client, writes);
  // Every call gets its handler now: they all reject at once when the
  // connection drops, before a loop awaiting them one by one would reach them.
  const outcomes = sent.map((call) => rejection(call, "maybe"));
  await server.kill();
  for (const error of await Promise.all(outcomes)) {
    assert.ok(error instanceof RedisConnectionError);
  }
});
