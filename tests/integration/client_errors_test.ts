import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisClusterClient,
  createRedisStorage,
  KRules,
  RedisConnectionError,
  RedisError,
  RedisReplyError,
  RedisTimeoutError,
} from "../../mod.ts";
import type { RedisArg } from "../../client.ts";
import { startRedisServer } from "../../testing.ts";

Deno.test("every error class takes ErrorOptions and keeps the cause", () => {
  const cause = new Error("root");
  for (
    const error of [
      new RedisError("a", { cause }),
      new RedisConnectionError("b", { cause }),
      new RedisTimeoutError("c", { cause }),
      new RedisReplyError("ERR d", { cause }),
    ]
  ) {
    assert.equal(error.cause, cause, error.name);
    assert.ok(error instanceof RedisError);
  }
});

Deno.test("RedisReplyError keeps the server's raw reply apart from its message", () => {
  const error = new RedisReplyError("MOVED 3999 127.0.0.1:6381", {
    command: "HGET",
    context: "while testing",
  });
  assert.equal(error.reply, "MOVED 3999 127.0.0.1:6381");
  assert.equal(error.code, "MOVED");
  assert.equal(error.command, "HGET");
  assert.equal(
    error.message,
    "while testing: MOVED 3999 127.0.0.1:6381 (command: HGET)",
  );
});

Deno.test("a reply error from the server carries the raw reply; a handshake error keeps it as cause", async () => {
  await using server = await startRedisServer({
    config: ["requirepass s3cret-pw"],
  });
  const url = server.url.replace("redis://", "redis://:s3cret-pw@");
  await using client = await createRedisClient(url);
  await client.send(["SET", "k", "v"]);
  const error = await client.send(["HGET", "k", "f"]).catch((e) => e);
  assert.ok(error instanceof RedisReplyError);
  assert.equal(error.command, "HGET");
  assert.match(error.reply, /^WRONGTYPE /);
  assert.ok(!error.reply.includes("(command:"));

  const wrong = server.url.replace("redis://", "redis://:wrong-pw@");
  const refused = await createRedisClient(wrong).catch((e) => e);
  assert.ok(refused instanceof RedisReplyError);
  assert.match(refused.reply, /^WRONGPASS /);
  assert.match(refused.message, /^AUTH failed on /);
  assert.ok(refused.cause instanceof RedisReplyError);
  assert.equal(refused.cause.reply, refused.reply);
});

Deno.test("the cluster client names a non-cluster server from the reply, not by parsing its message", async () => {
  await using server = await startRedisServer();
  const error = await createRedisClusterClient(server.url).catch((e) => e);
  assert.ok(error instanceof RedisReplyError);
  assert.equal(error.command, "CLUSTER SLOTS");
  assert.match(error.message, /not in cluster mode; use createRedisClient/);
  assert.match(error.reply, /cluster support disabled/);
  assert.ok(error.cause instanceof RedisReplyError);
});

Deno.test('a foreign client\'s errors keep executed "maybe" unless they prove otherwise: only an error reply is "no"', async () => {
  const { toRedisError } = await import("../../src/client/adapters/_errors.ts");
  const known = {
    reply: new Set(["ReplyError"]),
    connection: new Set(["ConnectionError"]),
    timeout: new Set(["TimeoutError"]),
  };
  const named = (name: string, message = name) => {
    const error = new Error(message);
    error.name = name;
    return error;
  };
  const cases: [Error, string, string][] = [
    [named("ReplyError", "ERR wrong"), "RedisReplyError", "no"],
    [named("ConnectionError"), "RedisConnectionError", "maybe"],
    [named("TimeoutError"), "RedisTimeoutError", "maybe"],
    // An error the adapter does not know: a reset socket, a client bug.
    [named("Error", "read ECONNRESET"), "RedisError", "maybe"],
    [named("SomeNewClientError"), "RedisError", "maybe"],
  ];
  for (const [foreign, name, executed] of cases) {
    const mapped = toRedisError(foreign, ["SET", "k", "v"], known);
    assert.ok(mapped instanceof RedisError, `${foreign.name}: ${mapped}`);
    assert.equal(mapped.name, name);
    assert.equal(mapped.executed, executed, foreign.name);
    assert.equal(mapped.cause, foreign);
  }
  // Bad arguments a foreign client refuses before sending stay as they are.
  const bad = new TypeError("bad argument");
  assert.equal(toRedisError(bad, ["SET"], known), bad);
});

Deno.test("a command a script may not run is reported with code NOPERM, the server's reply kept as sent", async () => {
  // The user may run scripts and read, but not write, nor touch keys off ~s:*.
  await using server = await startRedisServer({
    config: ["user reader on >pw ~s:* resetchannels -@all +eval +hget +ping"],
  });
  const url = server.url.replace("redis://", "redis://reader:pw@");
  await using client = await createRedisClient(url);
  const cases: [string, RedisArg[]][] = [
    ["a denied command", [
      "EVAL",
      "return redis.call('HSET', KEYS[1], 'f', 'v')",
      1,
      "s:a",
    ]],
    ["a denied command through pcall", [
      "EVAL",
      "return redis.pcall('HSET', KEYS[1], 'f', 'v')",
      1,
      "s:a",
    ]],
    ["a key it may not touch", [
      "EVAL",
      "return redis.call('HGET', 'other', 'f')",
      0,
    ]],
  ];
  for (const [name, args] of cases) {
    const error = await client.send(args).catch((e) => e);
    assert.ok(error instanceof RedisReplyError, `${name}: ${error}`);
    assert.equal(error.code, "NOPERM", name);
    assert.match(error.reply, /^ERR The user executing the script can't /);
    assert.ok(error.message.includes(error.reply), name);
    assert.equal(error.executed, "no", name);
  }
  // Through the storage: the set script runs HSET, which the user lacks.
  const krules = new KRules({ storage: createRedisStorage(client) });
  const error = await krules.subject("user-1").set("n", 1, { useCache: false })
    .catch((e) => e);
  assert.ok(error instanceof RedisReplyError, String(error));
  assert.equal(error.code, "NOPERM");
  // Other ERR replies keep their code.
  const other = await client.send(["EVAL", "return redis.call('NOPE')", 0])
    .catch((e) => e);
  assert.ok(other instanceof RedisReplyError, String(other));
  assert.equal(other.code, "ERR");
});
