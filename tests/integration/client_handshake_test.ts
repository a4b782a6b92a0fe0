/**
 * Issue 10, item 3: the handshake proves the peer speaks Redis, in the same
 * write as AUTH, SELECT and CLIENT SETNAME, and says what it saw when not.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisClient, RedisConnectionError } from "../../mod.ts";
import { startRedisServer } from "../../testing.ts";
import { drain, startTcpFake } from "../helpers/tcp_fakes.ts";
import { makeCertificates, serverTls } from "../helpers/tls.ts";

const CONNECT_TIMEOUT_MS = 500;
const MARGIN_MS = 400;
const encoder = new TextEncoder();

async function connectError(
  url: string,
): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await createRedisClient(url, {
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  }).then(
    (client) => {
      client.close();
      return new Error("connected");
    },
    (e) => e,
  );
  return { error, ms: performance.now() - started };
}

function assertConnectError(
  { error, ms }: { error: unknown; ms: number },
  ...expected: RegExp[]
): void {
  assert.ok(error instanceof RedisConnectionError, String(error));
  assert.ok(ms < CONNECT_TIMEOUT_MS + MARGIN_MS, `failed after ${ms} ms`);
  for (const pattern of expected) assert.match(error.message, pattern);
}

Deno.test("a silent listener fails the connect within connectTimeoutMs, saying what to try", async () => {
  await using fake = startTcpFake(drain);
  assertConnectError(
    await connectError(fake.url),
    /did not answer PING within 500 ms/,
    /Redis port/,
    /rediss:\/\//,
  );
});

Deno.test("an HTTP server fails the connect, quoting what it answered", async () => {
  await using fake = startTcpFake(async (conn) => {
    await conn.read(new Uint8Array(1024));
    await conn.write(
      encoder.encode("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
    );
    await drain(conn);
  });
  assertConnectError(
    await connectError(fake.url),
    /answered "HTTP\/1\.1 400 Bad Request/,
    /[Ii]s this a Redis port\?/,
  );
});

Deno.test("an SSH banner fails the connect, quoting the banner", async () => {
  await using fake = startTcpFake(async (conn) => {
    await conn.write(encoder.encode("SSH-2.0-OpenSSH_9.6\r\n"));
    await drain(conn);
  });
  assertConnectError(
    await connectError(fake.url),
    /answered "SSH-2\.0-OpenSSH_9\.6/,
    /[Ii]s this a Redis port\?/,
  );
});

Deno.test("a peer that closes at once fails the connect", async () => {
  await using fake = startTcpFake(() => Promise.resolve());
  assertConnectError(
    await connectError(fake.url),
    /ended before the peer answered/,
  );
});

Deno.test("a peer that answers PING with something else fails the connect", async () => {
  await using fake = startTcpFake(async (conn) => {
    await conn.read(new Uint8Array(1024));
    await conn.write(encoder.encode("+OK\r\n"));
    await drain(conn);
  });
  assertConnectError(
    await connectError(fake.url),
    /answered PING with "OK"/,
  );
});

Deno.test("redis:// to a TLS port, and rediss:// to a plaintext port, say which scheme to use", async () => {
  const dir = await Deno.makeTempDir({ prefix: "redis-subjects-tls-" });
  try {
    await makeCertificates(dir);
    await using tls = await startRedisServer({ tls: serverTls(dir) });
    assertConnectError(
      await connectError(tls.url.replace("rediss://", "redis://")),
      /If the server speaks TLS, use rediss:\/\//,
    );
    await using plain = await startRedisServer();
    assertConnectError(
      await connectError(plain.url.replace("redis://", "rediss://")),
      /may not speak TLS; use redis:\/\//,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the handshake, PING included, leaves in one write: no extra round trip", async () => {
  await using server = await startRedisServer({ config: ["requirepass pw"] });
  const url = server.url.replace("redis://", "redis://:pw@").replace(
    /\/0$/,
    "/3",
  );
  await using client = await createRedisClient(url, { clientName: "one" });
  assert.equal(client.stats.writes, 1);
  assert.equal(client.stats.commands, 4);
  assert.equal(await client.send(["CLIENT", "GETNAME"]), "one");
});
