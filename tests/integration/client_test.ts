import assert from "node:assert/strict";
import {
  createRedisClient,
  RedisClient,
  RedisConnectionError,
  RedisReplyError,
  RedisTimeoutError,
} from "../../mod.ts";
import { startRedisServer } from "../../testing.ts";
import { closedPort } from "../../src/testing/closed_port.ts";
import { Connection } from "../../src/client/_connection.ts";

function withPassword(url: string, userinfo: string): string {
  return url.replace("redis://", `redis://${userinfo}@`);
}

Deno.test("10,000 concurrent sends each get their own reply, in order, in far fewer writes", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url);
  const before = client.stats;
  const replies = await Promise.all(
    Array.from({ length: 10_000 }, () => client.send(["INCR", "counter"])),
  );
  const after = client.stats;
  replies.forEach((reply, i) => assert.equal(reply, i + 1));
  assert.equal(after.commands - before.commands, 10_000);
  const writes = after.writes - before.writes;
  assert.ok(writes <= 10, `10,000 commands took ${writes} socket writes`);
});

Deno.test("commands sent in one tick leave in one write", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url);
  const before = client.stats.writes;
  await Promise.all([
    client.send(["SET", "a", "1"]),
    client.send(["SET", "b", "2"]),
    client.send(["MGET", "a", "b"]),
  ]);
  assert.equal(client.stats.writes - before, 1);
});

Deno.test("the callers of a read's first replies run, and what they send leaves, before its later replies are handed out", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url);
  // 200 small replies come back in one read; they are handed out 64 at a
  // time, and the callers of each group run before the next is handed out.
  const before = client.stats.writes;
  const replies = Array.from(
    { length: 200 },
    (_, i) => client.send(["ECHO", String(i)]),
  );
  let followUp: Promise<unknown> | undefined;
  replies[0].then(() => followUp = client.send(["INCR", "n"]));
  const writesAtLast = replies[199].then(() => client.stats.writes - before);
  assert.deepEqual(
    await Promise.all(replies),
    Array.from({ length: 200 }, (_, i) => String(i)),
  );
  // One write for the 200, then the INCR's, before the last reply's caller ran.
  assert.equal(await writesAtLast, 2);
  assert.equal(await followUp, 1);
});

Deno.test("a connection closed at once while a read's replies are handed out still hands each command its reply already read", async () => {
  await using server = await startRedisServer();
  const socket = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.port,
  });
  const connection = new Connection(socket, {
    label: "test",
    timeoutMs: 5000,
    stats: { commands: 0, writes: 0 },
    secrets: [],
    onDrop() {},
  });
  const replies = Array.from(
    { length: 200 },
    (_, i) => connection.send(["ECHO", String(i)]),
  );
  // Closed by the first reply's caller, before the other groups are handed
  // out: the server ran their commands, and their replies are in hand.
  let closed: Promise<void> | undefined;
  replies[0].then(() => closed = connection.close());
  const settled = await Promise.allSettled(replies);
  await closed;
  assert.deepEqual(
    settled.map((s) => s.status === "fulfilled" ? s.value : String(s.reason)),
    Array.from({ length: 200 }, (_, i) => String(i)),
  );
});

Deno.test("an error reply rejects only its own command; the client keeps working", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url);
  await client.send(["SET", "str", "v"]);
  const [ok1, bad, ok2] = await Promise.allSettled([
    client.send(["SET", "x", "1"]),
    client.send(["HGET", "str", "f"]),
    client.send(["GET", "x"]),
  ]);
  assert.deepEqual(ok1, { status: "fulfilled", value: "OK" });
  assert.deepEqual(ok2, { status: "fulfilled", value: "1" });
  assert.equal(bad.status, "rejected");
  const error = (bad as PromiseRejectedResult).reason;
  assert.ok(error instanceof RedisReplyError);
  assert.equal(error.code, "WRONGTYPE");
  assert.equal(error.command, "HGET");
  await assert.rejects(
    client.send(["NOSUCHCOMMAND"]),
    (e: RedisReplyError) => e.code === "ERR",
  );
  assert.equal(await client.send(["PING"]), "PONG");
});

Deno.test("AUTH with user and password, and with a password alone", async () => {
  await using server = await startRedisServer({
    config: [
      "requirepass default-secret",
      "user alice on >alice-secret ~* &* +@all",
    ],
  });
  await using alice = await createRedisClient(
    withPassword(server.url, "alice:alice-secret"),
  );
  assert.equal(await alice.send(["ACL", "WHOAMI"]), "alice");
  await using plain = await createRedisClient(
    withPassword(server.url, ":default-secret"),
  );
  assert.equal(await plain.send(["ACL", "WHOAMI"]), "default");
  // Percent-encoded credentials are decoded before AUTH.
  await using encoded = await createRedisClient(
    withPassword(server.url, "alice:alice%2Dsecret"),
  );
  assert.equal(await encoded.send(["ACL", "WHOAMI"]), "alice");
});

Deno.test("a wrong password rejects createRedisClient without revealing the password", async () => {
  await using server = await startRedisServer({
    config: ["requirepass right-one"],
  });
  const secret = "wr0ng-Pa55word";
  for (const userinfo of [`:${secret}`, `default:${secret}`]) {
    const error = await createRedisClient(withPassword(server.url, userinfo))
      .then(
        () => assert.fail("connected with a wrong password"),
        (e) => e,
      );
    assert.ok(error instanceof RedisReplyError, String(error));
    assert.equal(error.code, "WRONGPASS");
    assert.match(error.message, /AUTH failed/);
    for (
      const text of [
        error.message,
        String(error),
        error.stack ?? "",
        Deno.inspect(error),
      ]
    ) {
      assert.ok(!text.includes(secret), `password leaked in: ${text}`);
    }
  }
});

Deno.test("the password never shows in url, String(), JSON or Deno.inspect", async () => {
  await using server = await startRedisServer({
    config: ["requirepass hunter2-secret"],
  });
  await using client = await createRedisClient(
    withPassword(server.url, ":hunter2-secret"),
  );
  for (
    const text of [
      client.url,
      String(client),
      JSON.stringify(client),
      Deno.inspect(client),
      Deno.inspect(client, { showHidden: true, depth: 10 }),
    ]
  ) {
    assert.ok(!text.includes("hunter2"), text);
  }
  assert.match(client.url, /:\*\*\*@/);
});

Deno.test("SELECT isolates databases", async () => {
  await using server = await startRedisServer();
  const base = server.url.replace(/\/0$/, "");
  await using db1 = await createRedisClient(`${base}/1`);
  await using db2 = await createRedisClient(`${base}/2`);
  await db1.send(["SET", "shared-name", "in db 1"]);
  assert.equal(await db2.send(["GET", "shared-name"]), null);
  assert.equal(await db1.send(["GET", "shared-name"]), "in db 1");
  const error = await createRedisClient(`${base}/99`).catch((e) => e);
  assert.ok(error instanceof RedisReplyError, String(error));
  assert.match(error.message, /SELECT failed/);
});

Deno.test("CLIENT SETNAME names the connection", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    clientName: "test-worker",
  });
  assert.equal(await client.send(["CLIENT", "GETNAME"]), "test-worker");
});

Deno.test("server killed mid-flight: in-flight commands reject with RedisConnectionError, then the same client recovers after restart", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    reconnect: { baseDelayMs: 10, maxDelayMs: 100, maxAttempts: 200 },
  });
  await client.send(["SET", "before", "1"]);
  // Paused, the server holds every command unanswered: they are all in flight.
  server.pause();
  const inFlight = Promise.allSettled(
    Array.from({ length: 100 }, (_, i) => client.send(["SET", `k${i}`, "v"])),
  );
  await server.kill();
  const results = await inFlight;
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.ok(
      (result as PromiseRejectedResult).reason instanceof RedisConnectionError,
    );
  }
  await server.restart();
  assert.equal(await client.send(["PING"]), "PONG");
  assert.ok(client.stats.reconnects >= 1);
});

Deno.test("server paused: a command rejects with RedisTimeoutError within the timeout; after resume the client works", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: 300,
  });
  server.pause();
  try {
    const started = performance.now();
    const error = await client.send(["PING"]).catch((e) => e);
    const elapsed = performance.now() - started;
    assert.ok(error instanceof RedisTimeoutError, String(error));
    assert.ok(
      elapsed >= 290 && elapsed < 300 + 250,
      `timed out after ${elapsed} ms`,
    );
  } finally {
    server.resume();
  }
  assert.equal(await client.send(["ECHO", "after"]), "after");
});

Deno.test("connecting to a port with no server rejects with RedisConnectionError", async () => {
  const port = await closedPort();
  const error = await createRedisClient(`redis://127.0.0.1:${port}/0`, {
    connectTimeoutMs: 1000,
  }).catch((e) => e);
  assert.ok(error instanceof RedisConnectionError, String(error));
  assert.match(
    error.message,
    new RegExp(`Cannot connect to redis://127.0.0.1:${port}/0`),
  );
});

Deno.test("close() lets in-flight commands finish, then send rejects", async () => {
  await using server = await startRedisServer();
  const client = await createRedisClient(server.url);
  const inFlight = Array.from(
    { length: 1000 },
    (_, i) => client.send(["SET", `k${i}`, i]),
  );
  const closed = client.close();
  const replies = await Promise.all(inFlight);
  await closed;
  assert.ok(replies.every((r) => r === "OK"));
  await assert.rejects(client.send(["PING"]), RedisConnectionError);
  assert.equal(client.closed, true);
  await using check = await createRedisClient(server.url);
  assert.equal(await check.send(["DBSIZE"]), 1000);
});

Deno.test("a lazily created client connects on its first command", async () => {
  await using server = await startRedisServer();
  await using client = new RedisClient(server.url);
  assert.equal(client.stats.commands, 0);
  const [a, b] = await Promise.all([
    client.send(["PING"]),
    client.send(["ECHO", "x"]),
  ]);
  assert.deepEqual([a, b], ["PONG", "x"]);
});

Deno.test("bad command arguments reject with TypeError and nothing is sent", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url);
  const before = client.stats.commands;
  await assert.rejects(client.send(["SET", "k", Infinity]), TypeError);
  await assert.rejects(
    client.send(["SET", "k", undefined as unknown as string]),
    TypeError,
  );
  await assert.rejects(client.send([]), TypeError);
  assert.equal(client.stats.commands, before);
  assert.equal(await client.send(["EXISTS", "k"]), 0);
});
