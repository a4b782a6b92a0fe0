import assert from "node:assert/strict";
import {
  createRedisClient,
  RedisConnectionError,
  RedisReplyError,
  RedisTimeoutError,
} from "../../mod.ts";

const encoder = new TextEncoder();

/**
 * A fake server on a free port. The first connection gets `misbehave`; every
 * later one answers each chunk it reads with `+PONG`, like a healthy server
 * answering one PING, so the test can prove the client recovers.
 */
async function withFakeServer(
  misbehave: (conn: Deno.Conn) => Promise<void>,
  test: (url: string) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handlers: Promise<void>[] = [];
  const open = new Set<Deno.Conn>();
  let connections = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      const first = connections++ === 0;
      handlers.push(
        (async () => {
          try {
            if (first) {
              await misbehave(conn);
            } else {
              const buf = new Uint8Array(4096);
              while ((await conn.read(buf)) !== null) {
                await conn.write(encoder.encode("+PONG\r\n"));
              }
            }
          } catch {
            // The client hung up; that is the point of most cases.
          } finally {
            open.delete(conn);
            try {
              conn.close();
            } catch {
              // Closed already.
            }
          }
        })(),
      );
    }
  })();
  try {
    await test(`redis://127.0.0.1:${listener.addr.port}/0`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of open) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    await Promise.all(handlers);
  }
}

/**
 * Answers the handshake's PING, reads one chunk (the command), then answers
 * with `bytes`.
 */
function answer(bytes: string, thenClose = false) {
  return async (conn: Deno.Conn) => {
    const buf = new Uint8Array(4096);
    if ((await conn.read(buf)) === null) return;
    await conn.write(encoder.encode("+PONG\r\n"));
    if ((await conn.read(buf)) === null) return;
    await conn.write(encoder.encode(bytes));
    if (thenClose) {
      conn.close();
      return;
    }
    // Keep the connection open until the client drops it.
    while ((await conn.read(buf)) !== null) {
      // Ignore whatever else arrives.
    }
  };
}

const broken: [string, (conn: Deno.Conn) => Promise<void>, RegExp][] = [
  ["an unknown type byte", answer("!boom\r\n"), /invalid reply/],
  ["a non-numeric integer", answer(":12x\r\n"), /invalid reply/],
  ["a negative bulk length", answer("$-7\r\nabc\r\n"), /invalid reply/],
  ["a bulk length past 512 MiB", answer("$99999999999\r\n"), /invalid reply/],
  ["a bulk string without its CRLF", answer("$3\r\nabcXY"), /invalid reply/],
  [
    "a truncated bulk string, then close",
    answer("$10\r\nabc", true),
    /closed|reset/,
  ],
  [
    "a truncated array, then close",
    answer("*3\r\n:1\r\n", true),
    /closed|reset/,
  ],
  ["a close before any reply", answer("", true), /closed|reset/],
  ["a half-written line, then close", answer("+PO", true), /closed|reset/],
];

for (const [what, misbehave, message] of broken) {
  Deno.test(`a server that sends ${what} gets RedisConnectionError, and the next call succeeds`, async () => {
    await withFakeServer(misbehave, async (url) => {
      await using client = await createRedisClient(url, {
        reconnect: { baseDelayMs: 1, maxDelayMs: 10 },
      });
      const error = await client.send(["PING"]).catch((e) => e);
      assert.ok(error instanceof RedisConnectionError, `${what}: ${error}`);
      assert.match(error.message, message);
      assert.equal(await client.send(["PING"]), "PONG");
    });
  });
}

Deno.test("a reply nobody asked for drops the connection; the client reconnects and goes on", async () => {
  await withFakeServer(answer("+PONG\r\n+EXTRA\r\n"), async (url) => {
    await using client = await createRedisClient(url, {
      reconnect: { baseDelayMs: 1, maxDelayMs: 10 },
    });
    // The stray reply arrives in the same read as the real one: the command
    // gets its answer, then the out-of-step connection is dropped.
    assert.equal(await client.send(["PING"]), "PONG");
    assert.equal(await client.send(["PING"]), "PONG");
    assert.equal(client.stats.reconnects, 1);
  });
});

Deno.test("an error reply with an empty message still rejects with RedisReplyError", async () => {
  await withFakeServer(answer("-\r\n"), async (url) => {
    await using client = await createRedisClient(url);
    const error = await client.send(["PING"]).catch((e) => e);
    assert.ok(error instanceof RedisReplyError);
    assert.equal(error.code, "");
  });
});

Deno.test("a server that never answers gets RedisTimeoutError, not a hang", async () => {
  await withFakeServer(answer(""), async (url) => {
    await using client = await createRedisClient(url, {
      commandTimeoutMs: 200,
    });
    const error = await client.send(["PING"]).catch((e) => e);
    assert.ok(error instanceof RedisTimeoutError, String(error));
    assert.match(error.message, /PING got no reply .* within 200 ms/);
  });
});
