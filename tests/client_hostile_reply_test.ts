/**
 * Issue 10, item 6: a hostile reply cannot eat the memory. A status, error or
 * length line longer than 1 MiB is a corrupt stream: the connection is
 * retired at once.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisClient, RedisConnectionError } from "../mod.ts";
import { startTcpFake } from "./helpers_tcp_fakes.ts";
import { reportFigures } from "./helpers_figures.ts";

const encoder = new TextEncoder();
const HOSTILE_BYTES = 64 * 1024 * 1024;
const CHUNK = encoder.encode("1".repeat(256 * 1024));

const CASES: [string, string][] = [
  ["a status line", "+"],
  ["an error line", "-ERR "],
  ["a bulk length line", "$"],
  ["an array length line", "*"],
];

for (const [what, start] of CASES) {
  Deno.test(`${what} of 64 MB without a line end is refused after 1 MiB: the connection is retired at once`, async () => {
    let sent = 0;
    await using fake = startTcpFake(async (conn, index) => {
      const buf = new Uint8Array(4096);
      if ((await conn.read(buf)) === null) return;
      await conn.write(encoder.encode("+PONG\r\n"));
      if (index > 0) {
        // Later connections are healthy.
        while ((await conn.read(buf)) !== null) {
          await conn.write(encoder.encode("+PONG\r\n"));
        }
        return;
      }
      if ((await conn.read(buf)) === null) return;
      await conn.write(encoder.encode(start));
      while (sent < HOSTILE_BYTES) {
        sent += await conn.write(CHUNK);
      }
    });
    await using client = await createRedisClient(fake.url, {
      commandTimeoutMs: 30_000,
    });
    const rssBefore = Deno.memoryUsage().rss;
    const started = performance.now();
    const error = await client.send(["PING"]).catch((e) => e);
    const ms = performance.now() - started;
    const rssGrowth = Deno.memoryUsage().rss - rssBefore;
    assert.ok(error instanceof RedisConnectionError, String(error));
    assert.match(error.message, /1 MiB/);
    assert.ok(
      sent < 16 * 1024 * 1024,
      `the client read ${sent} bytes before hanging up`,
    );
    assert.ok(
      rssGrowth < 32 * 1024 * 1024,
      `RSS grew by ${rssGrowth} bytes`,
    );
    assert.equal(await client.send(["PING"]), "PONG");
    reportFigures(
      `hostile reply (${what}): refused after ${
        (sent / 1024 / 1024).toFixed(1)
      } MB had been sent, in ${ms.toFixed(0)} ms, RSS +${
        (rssGrowth / 1024 / 1024).toFixed(1)
      } MB`,
    );
  });
}
