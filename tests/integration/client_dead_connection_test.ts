/**
 * Issue 10, item 2: a connection that goes silent is replaced, and timed-out
 * commands free their memory.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  RedisConnectionError,
  RedisTimeoutError,
} from "../../mod.ts";
import { startRedisServer } from "../../testing.ts";
import { startBlackholeProxy } from "../helpers/tcp_fakes.ts";
import { reportFigures } from "../helpers/figures.ts";

const TIMEOUT_MS = 500;
const MARGIN_MS = 400;

Deno.test("a black-holed connection is retired when a command times out with nothing received; the client recovers by itself within 2x commandTimeoutMs", async () => {
  await using server = await startRedisServer();
  await using proxy = startBlackholeProxy(server.port);
  await using client = await createRedisClient(proxy.url, {
    commandTimeoutMs: TIMEOUT_MS,
  });
  assert.equal(await client.send(["SET", "k", "before"]), "OK");
  proxy.blackhole();
  const started = performance.now();
  const inFlight = Array.from(
    { length: 100 },
    () => client.send(["GET", "k"]).catch((e) => e),
  );
  const first = await inFlight[0];
  const timedOutAfter = performance.now() - started;
  assert.ok(first instanceof RedisTimeoutError, String(first));
  // Retired: the next call goes to a new connection and succeeds.
  assert.equal(await client.send(["GET", "k"]), "before");
  const recovered = performance.now() - started;
  assert.ok(
    recovered < 2 * TIMEOUT_MS + MARGIN_MS,
    `recovered after ${recovered} ms`,
  );
  assert.equal(client.stats.reconnects, 1);
  for (const error of await Promise.all(inFlight)) {
    assert.ok(
      error instanceof RedisTimeoutError ||
        error instanceof RedisConnectionError,
      String(error),
    );
  }
  assert.match(
    Deno.inspect(client),
    /state: "connected"/,
  );
  reportFigures(
    `black hole: first command timed out after ${
      timedOutAfter.toFixed(0)
    } ms (commandTimeoutMs ${TIMEOUT_MS}), the connection was retired and the next command succeeded ${
      recovered.toFixed(0)
    } ms after the black hole began (limit ${2 * TIMEOUT_MS} ms)`,
  );
});

Deno.test("100,000 timed-out commands on a live connection grow the heap by less than 10 MB", async () => {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      "--allow-net=127.0.0.1",
      new URL("../helpers/heap_worker.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const result = JSON.parse(text.trim().split("\n").at(-1)!);
  assert.equal(result.timedOut + result.answered, result.commands, text);
  assert.ok(result.timedOut > result.commands - 1000, text);
  assert.equal(
    result.reconnects,
    0,
    "the connection kept receiving: not retired",
  );
  assert.ok(
    result.growthBytes < 10 * 1024 * 1024,
    `heap grew by ${(result.growthBytes / 1024 / 1024).toFixed(1)} MB`,
  );
  reportFigures(
    `heap: ${result.commands} timed-out commands grew the heap by ${
      (result.growthBytes / 1024 / 1024).toFixed(1)
    } MB after GC`,
  );
});
