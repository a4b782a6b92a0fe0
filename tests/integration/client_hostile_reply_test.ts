/**
 * Issue 10, item 6: a hostile reply cannot eat the memory. A status, error or
 * length line longer than 1 MiB is a corrupt stream: the connection is
 * retired at once.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  RedisConnectionError,
  RedisError,
} from "../../mod.ts";
import { ProtocolError, ReplyParser } from "../../src/client/resp.ts";
import { startTcpFake } from "../helpers/tcp_fakes.ts";
import { reportFigures } from "../helpers/figures.ts";

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

/** Issue 18, item 6: nesting, declared lengths and a reply that never ends. */

Deno.test("an endlessly nested array (`*1` repeated) is refused past 128 levels: the connection is retired at once and the client recovers", async () => {
  let sent = 0;
  await using fake = startTcpFake(async (conn, index) => {
    const buf = new Uint8Array(4096);
    if ((await conn.read(buf)) === null) return;
    await conn.write(encoder.encode("+PONG\r\n"));
    if (index > 0) {
      while ((await conn.read(buf)) !== null) {
        await conn.write(encoder.encode("+PONG\r\n"));
      }
      return;
    }
    if ((await conn.read(buf)) === null) return;
    const nest = encoder.encode("*1\r\n".repeat(64 * 1024));
    while (sent < HOSTILE_BYTES) sent += await conn.write(nest);
  });
  await using client = await createRedisClient(fake.url, {
    commandTimeoutMs: 30_000,
  });
  const error = await client.send(["PING"]).catch((e) => e);
  assert.ok(error instanceof RedisConnectionError, String(error));
  assert.match(error.message, /nested deeper than 128/);
  assert.ok(sent < 16 * 1024 * 1024, `the client read ${sent} bytes first`);
  assert.equal(await client.send(["PING"]), "PONG");
  assert.equal(fake.accepted, 2);
});

Deno.test("the parser takes at most 128 levels of nesting, and more than Redis ever sends", () => {
  const parser = new ReplyParser();
  const replies: unknown[] = [];
  parser.feed(
    encoder.encode("*1\r\n".repeat(127) + ":7\r\n"),
    (r) => replies.push(r),
  );
  let value = replies[0];
  for (let depth = 0; depth < 127; depth++) value = (value as unknown[])[0];
  assert.equal(value, 7);
  assert.throws(
    () => parser.feed(encoder.encode("*1\r\n".repeat(129)), () => {}),
    ProtocolError,
    "nested deeper than 128",
  );
});

Deno.test("a declared length is not allocated before its bytes arrive: memory follows what the server sent", () => {
  for (const header of ["$536870000\r\n", "*2147483647\r\n"]) {
    const parser = new ReplyParser();
    const before = Deno.memoryUsage().external;
    parser.feed(encoder.encode(header + "x".repeat(1000)), () => {});
    const grown = Deno.memoryUsage().external - before;
    assert.ok(
      grown < 4 * 1024 * 1024,
      `${header.trim()} followed by 1000 bytes took ${grown} bytes`,
    );
  }
  // A bulk string fed a byte at a time still arrives whole.
  const parser = new ReplyParser();
  const replies: unknown[] = [];
  const text = "é".repeat(40_000);
  const wire = encoder.encode(`$${encoder.encode(text).length}\r\n${text}\r\n`);
  for (let at = 0; at < wire.length; at += 7) {
    parser.feed(wire.subarray(at, at + 7), (r) => replies.push(r));
  }
  assert.deepEqual(replies, [text]);
});

Deno.test("a reply still incomplete when its command's deadline passes retires the connection: the calls behind it reject in time and the client recovers", async () => {
  const TIMEOUT_MS = 500;
  await using fake = startTcpFake(async (conn, index) => {
    const buf = new Uint8Array(4096);
    if ((await conn.read(buf)) === null) return;
    await conn.write(encoder.encode("+PONG\r\n"));
    if (index > 0) {
      while ((await conn.read(buf)) !== null) {
        await conn.write(encoder.encode("+PONG\r\n"));
      }
      return;
    }
    if ((await conn.read(buf)) === null) return;
    // A huge bulk string, trickled a few bytes at a time, forever.
    await conn.write(encoder.encode("$536870000\r\nabcd"));
    const drip = encoder.encode("abcd");
    while (true) {
      await conn.write(drip);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  await using client = await createRedisClient(fake.url, {
    commandTimeoutMs: TIMEOUT_MS,
  });
  const started = performance.now();
  const first = client.send(["GET", "k"]).catch((e) => e);
  await Promise.resolve();
  const behind = [1, 2, 3].map(() => client.send(["PING"]).catch((e) => e));
  const errors = [await first, ...await Promise.all(behind)];
  const ms = performance.now() - started;
  for (const error of errors) {
    assert.ok(error instanceof RedisError, String(error));
  }
  assert.ok(ms < TIMEOUT_MS + 1000, `settled after ${ms} ms`);
  // The next command goes to a fresh connection instead of behind the drip.
  assert.equal(await client.send(["PING"]), "PONG");
  assert.equal(fake.accepted, 2);
});
