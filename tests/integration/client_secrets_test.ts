/**
 * Issue 10, item 4: no secret in any error, whatever the server or the URL
 * says. Each case carries a marker secret; every error's message, stack and
 * whole cause chain are searched for it.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisClusterClient,
  loadRedisConfig,
  RedisClient,
} from "../../mod.ts";
import { startRedisCluster, startRedisServer } from "../../testing.ts";
import { drain, startTcpFake } from "../helpers/tcp_fakes.ts";

const MARKER = "Mk7Secret42x";
const encoder = new TextEncoder();

/** Every text an error shows: message, stack and inspection, down its cause chain. */
function texts(error: unknown): string[] {
  const out = [Deno.inspect(error)];
  for (let e = error, depth = 0; e !== undefined && depth < 10; depth++) {
    if (e instanceof Error) {
      out.push(e.message, e.stack ?? "", String(e));
      e = e.cause;
    } else {
      out.push(String(e));
      break;
    }
  }
  return out;
}

function assertNoSecret(error: unknown, secret: string, what: string): void {
  assert.ok(error instanceof Error, `${what}: expected an error, got ${error}`);
  for (const text of texts(error)) {
    assert.ok(!text.includes(secret), `${what} leaks the secret: ${text}`);
  }
}

async function settle(fn: () => unknown): Promise<unknown> {
  try {
    const value = await fn();
    if (value instanceof RedisClient) await value.close();
    return new Error("no error");
  } catch (error) {
    return error;
  }
}

const MALFORMED_URLS = [
  `redis:/:${MARKER}@host`,
  `redis:///:${MARKER}@host`,
  `rediss::${MARKER}@host`,
  `redis:${MARKER}@host`,
  `redis://${MARKER}@host`,
  `redis//:${MARKER}@host`,
  `:${MARKER}@host`,
  `redis://:${MARKER}@host:99999`,
  `redis://:${MARKER}@host:port`,
  `redis://:${MARKER}@host/abc`,
  `redis://:${MARKER}@host/0/1`,
  `redis://:${MARKER}@host?db=1`,
  `redis://:${MARKER}@host#x`,
  `http://:${MARKER}@host`,
  `redis://:${MARKER}@`,
  `redis://user:${MARKER}%zz@host`,
  `redis://:${MARKER}@[::1`,
  `redis://user@${MARKER}@host:1:2`,
  `redis://:${MARKER}`,
];

for (const url of MALFORMED_URLS) {
  Deno.test(`a malformed URL never shows its secret: ${url.replace(MARKER, "<secret>")}`, async () => {
    const attempts: [string, () => unknown][] = [
      ["new RedisClient", () => new RedisClient(url)],
      ["createRedisClient", () => createRedisClient(url)],
      ["createRedisClusterClient", () => createRedisClusterClient([url])],
      [
        "loadRedisConfig",
        () => loadRedisConfig(new Map([["REDIS_URL", url]])),
      ],
    ];
    for (const [what, attempt] of attempts) {
      const error = await settle(attempt);
      assert.ok(error instanceof TypeError, `${what}: ${error}`);
      assertNoSecret(error, MARKER, what);
    }
  });
}

Deno.test("a server that echoes AUTH's arguments (AUTH renamed) does not leak the password", async () => {
  await using server = await startRedisServer({
    config: ['rename-command AUTH ""'],
  });
  const url = server.url.replace("redis://", `redis://:${MARKER}@`);
  const error = await settle(() => createRedisClient(url));
  assert.match(String(error), /unknown command 'AUTH'/);
  assertNoSecret(error, MARKER, "single client");
});

Deno.test("a secret-like user name echoed by the server is scrubbed too", async () => {
  await using server = await startRedisServer({
    config: ['rename-command AUTH ""'],
  });
  const user = "svc-7f3a9c2e41";
  const url = server.url.replace("redis://", `redis://${user}:${MARKER}@`);
  const error = await settle(() => createRedisClient(url));
  assertNoSecret(error, MARKER, "password");
  assertNoSecret(error, user, "user name");
});

Deno.test("a long password echoed truncated is scrubbed too", async () => {
  await using server = await startRedisServer({
    config: ['rename-command AUTH ""'],
  });
  const long = MARKER.repeat(20);
  const url = server.url.replace("redis://", `redis://:${long}@`);
  const error = await settle(() => createRedisClient(url));
  assert.match(String(error), /unknown command 'AUTH'/);
  assertNoSecret(error, MARKER, "truncated echo");
});

Deno.test("the cluster client does not leak a password the server echoes", async () => {
  await using cluster = await startRedisCluster({
    masters: 3,
    config: ['rename-command AUTH ""'],
  });
  const seeds = cluster.urls.map((u) =>
    u.replace("redis://", `redis://:${MARKER}@`)
  );
  const error = await settle(() => createRedisClusterClient(seeds));
  assertNoSecret(error, MARKER, "cluster client");
});

const ECHOING_PEERS: [string, (conn: Deno.Conn) => Promise<void>][] = [
  ["an error reply echoing the command", async (conn) => {
    await conn.read(new Uint8Array(4096));
    await conn.write(
      encoder.encode(
        `-ERR unknown command 'AUTH', with args beginning with: '${MARKER}' \r\n+PONG\r\n`,
      ),
    );
    await drain(conn);
  }],
  ["a PING reply that is the password", async (conn) => {
    await conn.read(new Uint8Array(4096));
    await conn.write(encoder.encode(`+OK\r\n+${MARKER}\r\n`));
    await drain(conn);
  }],
  ["a first line that is not RESP and holds the password", async (conn) => {
    await conn.read(new Uint8Array(4096));
    await conn.write(encoder.encode(`HELLO ${MARKER}\r\n`));
    await drain(conn);
  }],
];

for (const [what, peer] of ECHOING_PEERS) {
  Deno.test(`a peer answering with ${what} does not leak the password`, async () => {
    await using fake = startTcpFake(peer);
    const url = fake.url.replace("redis://", `redis://:${MARKER}@`);
    const error = await settle(() =>
      createRedisClient(url, { connectTimeoutMs: 1000 })
    );
    assertNoSecret(error, MARKER, what);
    const cluster = await settle(() =>
      createRedisClusterClient(url, { connectTimeoutMs: 1000 })
    );
    assertNoSecret(cluster, MARKER, `${what} (cluster)`);
  });
}

/**
 * Issue 18, item 12: a secret with characters that change form on the way
 * (quote, backslash, space, non-ASCII, percent, a newline), echoed several
 * times in every form a server or this client might give it: as sent, with
 * the newline made a space (as Redis does in error replies), JSON-escaped,
 * percent-encoded, byte-escaped, and split over many chunks.
 */
const HARD = 'Mk7"Se\\cr é/4%2x\nZq9Tail';
/** Pieces of HARD that no message would show by chance, before and after its newline. */
const PIECES = ["Mk7", "Zq9Tail"];
const HARD_URL_PASSWORD = encodeURIComponent(HARD);
const asRedisEchoes = HARD.replaceAll("\n", " ");

function assertNoHardSecret(error: unknown, what: string): void {
  assert.ok(error instanceof Error, `${what}: expected an error, got ${error}`);
  for (const text of texts(error)) {
    for (const piece of PIECES) {
      assert.ok(!text.includes(piece), `${what} leaks the secret: ${text}`);
    }
  }
}

const HARD_PEERS: [string, (conn: Deno.Conn) => Promise<void>][] = [
  ["an error reply echoing it in four forms, twice each", async (conn) => {
    await conn.read(new Uint8Array(4096));
    const forms = [
      asRedisEchoes,
      JSON.stringify(HARD),
      encodeURIComponent(HARD),
      HARD_URL_PASSWORD,
    ];
    await conn.write(
      encoder.encode(
        `-ERR unknown command 'AUTH', with args beginning with: ${
          [...forms, ...forms].map((f) => `'${f}'`).join(" ")
        }\r\n+PONG\r\n`,
      ),
    );
    await drain(conn);
  }],
  ["the same error reply a byte at a time", async (conn) => {
    await conn.read(new Uint8Array(4096));
    const reply = encoder.encode(
      `-ERR echo '${asRedisEchoes}' and '${asRedisEchoes}'\r\n+PONG\r\n`,
    );
    for (let i = 0; i < reply.length; i++) {
      await conn.write(reply.subarray(i, i + 1));
    }
    await drain(conn);
  }],
  ["a PING reply that is the secret", async (conn) => {
    await conn.read(new Uint8Array(4096));
    await conn.write(encoder.encode(`+OK\r\n+${asRedisEchoes}\r\n`));
    await drain(conn);
  }],
  ["a bad integer that is the secret", async (conn) => {
    await conn.read(new Uint8Array(4096));
    await conn.write(encoder.encode(`:${HARD}\r\n`));
    await drain(conn);
  }],
  ["a first line that is not RESP and holds the secret twice", async (conn) => {
    await conn.read(new Uint8Array(4096));
    await conn.write(encoder.encode(`HELLO ${asRedisEchoes} ${HARD}\r\n`));
    await drain(conn);
  }],
];

for (const [what, peer] of HARD_PEERS) {
  Deno.test(`a peer answering with ${what} does not leak a secret in any form`, async () => {
    await using fake = startTcpFake(peer);
    const url = fake.url.replace("redis://", `redis://:${HARD_URL_PASSWORD}@`);
    assertNoHardSecret(
      await settle(() => createRedisClient(url, { connectTimeoutMs: 1000 })),
      what,
    );
  });
}

Deno.test("a real server echoing a secret with a newline, quote and non-ASCII (AUTH renamed) does not leak any of it", async () => {
  await using server = await startRedisServer({
    config: ['rename-command AUTH ""'],
  });
  const url = server.url.replace("redis://", `redis://:${HARD_URL_PASSWORD}@`);
  const error = await settle(() => createRedisClient(url));
  assert.match(String(error), /unknown command 'AUTH'/);
  assertNoHardSecret(error, "real server");
});
