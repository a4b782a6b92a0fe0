/**
 * Issue 10, item 5: the shared connection cannot be broken from outside.
 * `send()` refuses commands that change the connection's state or block its
 * pipeline; `duplicate()` gives a dedicated connection for them.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisClusterClient,
  createRedisStorage,
  KRules,
} from "../../mod.ts";
import { notExecuted } from "../../src/client/errors.ts";
import { sendUnguarded } from "../../src/client/client.ts";
import type { RedisArg } from "../../src/client/types.ts";
import { startRedisCluster, startRedisServer } from "../../testing.ts";

const REFUSED: (string | number)[][] = [
  ["MULTI"],
  ["EXEC"],
  ["DISCARD"],
  ["WATCH", "k"],
  ["UNWATCH"],
  ["SELECT", 1],
  ["SUBSCRIBE", "ch"],
  ["PSUBSCRIBE", "ch*"],
  ["SSUBSCRIBE", "ch"],
  ["UNSUBSCRIBE"],
  ["PUNSUBSCRIBE"],
  ["SUNSUBSCRIBE"],
  ["MONITOR"],
  ["RESET"],
  ["QUIT"],
  ["HELLO", 3],
  ["AUTH", "pw"],
  ["SYNC"],
  ["PSYNC", "?", -1],
  ["REPLICAOF", "127.0.0.1", 1],
  ["SLAVEOF", "NO", "ONE"],
  ["CLIENT", "TRACKING", "ON"],
  ["CLIENT", "REPLY", "OFF"],
  ["client", "reply", "skip"],
  ["BLPOP", "list", 0],
  ["BRPOP", "list", 0],
  ["BRPOPLPUSH", "a", "b", 0],
  ["BLMOVE", "a", "b", "LEFT", "RIGHT", 0],
  ["BLMPOP", 0, 1, "a", "LEFT"],
  ["BZPOPMIN", "z", 0],
  ["BZPOPMAX", "z", 0],
  ["BZMPOP", 0, 1, "z", "MIN"],
  ["XREAD", "BLOCK", 0, "STREAMS", "s", "$"],
  ["XREADGROUP", "GROUP", "g", "c", "block", 0, "STREAMS", "s", ">"],
  ["WAIT", 1, 0],
  ["WAITAOF", 1, 0, 0],
  ["multi"],
  ["Multi"],
];

Deno.test("send() refuses every command that changes the shared connection's state or blocks it, naming it and the fix, before sending anything", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url);
  const before = client.stats.commands;
  for (const args of REFUSED) {
    const error = await client.send(args).catch((e) => e);
    assert.ok(error instanceof TypeError, `${args[0]}: ${error}`);
    assert.match(
      error.message,
      new RegExp(`^${String(args[0]).toUpperCase()}\\b`),
    );
    assert.match(error.message, /duplicate\(\)/);
  }
  assert.equal(client.stats.commands, before, "nothing was sent");
  // What stays allowed: reads without BLOCK, other CLIENT subcommands.
  assert.equal(await client.send(["CLIENT", "GETNAME"]), null);
  assert.deepEqual(await client.send(["XREAD", "STREAMS", "s", "0"]), null);
  assert.equal(await client.send(["PING"]), "PONG");
});

const bytes = (s: string) => new TextEncoder().encode(s);

/** Every letter alternately upper and lower case: `cLiEnT`. */
function mixed(s: string): string {
  return [...s].map((c, i) => i % 2 ? c.toUpperCase() : c.toLowerCase())
    .join("");
}

/**
 * Each refused command in the forms a caller may give it: every word as a
 * string or as bytes, in upper, lower or mixed case. Numbers stay numbers.
 */
function forms(args: (string | number)[]): [string, RedisArg[]][] {
  const out: [string, RedisArg[]][] = [];
  for (const [casing, recase] of CASINGS) {
    out.push([
      `strings, ${casing}`,
      args.map((a) => typeof a === "string" ? recase(a) : a),
    ]);
    out.push([
      `bytes, ${casing}`,
      args.map((a) => typeof a === "string" ? bytes(recase(a)) : a),
    ]);
    // Only the words after the first as bytes: the guard reads options too.
    out.push([
      `name a string, the rest bytes, ${casing}`,
      args.map((a, i) =>
        typeof a === "string" && i > 0
          ? bytes(recase(a))
          : typeof a === "string"
          ? recase(a)
          : a
      ),
    ]);
  }
  return out;
}

const CASINGS: [string, (s: string) => string][] = [
  ["upper case", (s) => s.toUpperCase()],
  ["lower case", (s) => s.toLowerCase()],
  ["mixed case", mixed],
];

Deno.test("send() refuses each of them as strings, as bytes and in any letter case: nothing is sent", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url);
  const before = client.stats.commands;
  let refused = 0;
  for (const args of REFUSED) {
    for (const [form, given] of forms(args)) {
      const error = await client.send(given).catch((e) => e);
      assert.ok(
        error instanceof TypeError,
        `${args.join(" ")} (${form}) was not refused: ${error}`,
      );
      assert.ok(notExecuted(error));
      refused++;
    }
  }
  assert.equal(refused, REFUSED.length * 9);
  assert.equal(client.stats.commands, before, "nothing was sent");
});

Deno.test("GETs sent in the same tick as refused state commands, in every form, each get their own value", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: 2000,
  });
  const KEYS = 50;
  for (let i = 0; i < KEYS; i++) await client.send(["SET", `k${i}`, `v${i}`]);
  const attacks: RedisArg[][] = [
    ["CLIENT", bytes("REPLY"), "SKIP"],
    [bytes("client"), bytes("reply"), bytes("off")],
    ["XREAD", bytes("BLOCK"), "2000", "STREAMS", "s", "$"],
    ["xreadgroup", "GROUP", "g", "c", bytes("bLoCk"), 0, "STREAMS", "s", ">"],
    [bytes("sUbScRiBe"), "ch"],
    [bytes("MONITOR")],
    [bytes("select"), 1],
  ];
  const gets: Promise<unknown>[] = [];
  const refusals: Promise<unknown>[] = [];
  for (let i = 0; i < KEYS; i++) {
    gets.push(client.send(["GET", `k${i}`]));
    const attack = attacks[i % attacks.length];
    refusals.push(client.send(attack).then(() => "sent", (e) => e));
  }
  const replies = await Promise.all(gets);
  assert.deepEqual(
    replies,
    Array.from({ length: KEYS }, (_, i) => `v${i}`),
  );
  const errors = await Promise.all(refusals);
  assert.equal(errors.filter((e) => e instanceof TypeError).length, KEYS);
  // The connection is still in step: a later reply is still its own.
  assert.equal(await client.send(["GET", "k7"]), "v7");
  assert.equal(await client.send(["DBSIZE"]), KEYS);
});

Deno.test("app code cannot move the storage to another database or block it", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    commandTimeoutMs: 1000,
  });
  const krules = new KRules({ storage: createRedisStorage(client) });
  await assert.rejects(client.send(["SELECT", 1]), TypeError);
  await assert.rejects(client.send(["BLPOP", "q", 0]), TypeError);
  await krules.subject("user-1").set("n", 1, { useCache: false });
  assert.equal(await client.send(["DBSIZE"]), 1);
});

Deno.test("duplicate() gives a dedicated connection for transactions and blocking commands", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url, {
    clientName: "shared",
  });
  await using own = await client.duplicate({ commandTimeoutMs: 0 });
  assert.equal(await own.send(["CLIENT", "GETNAME"]), "shared");
  const [multi, set, exec] = await Promise.all([
    own.send(["MULTI"]),
    own.send(["SET", "tx", "1"]),
    own.send(["EXEC"]),
  ]);
  assert.deepEqual([multi, set, exec], ["OK", "QUEUED", ["OK"]]);
  const popped = own.send(["BLPOP", "queue", 0]);
  // The shared client is not behind the blocked one.
  assert.equal(await client.send(["RPUSH", "queue", "job"]), 1);
  assert.deepEqual(await popped, ["queue", "job"]);
  assert.notEqual(
    await own.send(["CLIENT", "ID"]),
    await client.send(["CLIENT", "ID"]),
  );
});

Deno.test("the library's own path may send WAIT and ROLE on the shared connection", async () => {
  await using server = await startRedisServer();
  await using client = await createRedisClient(server.url);
  assert.equal(await sendUnguarded(client, ["WAIT", 0, 0]), 0);
  const role = await sendUnguarded(client, ["ROLE"]);
  assert.ok(Array.isArray(role) && role[0] === "master");
});

Deno.test("the cluster client refuses them too, through its node clients; its duplicate() takes them", async () => {
  await using cluster = await startRedisCluster({ masters: 3 });
  await using client = await createRedisClusterClient(cluster.urls);
  for (const args of [["MULTI"], ["BLPOP", "k", 0], ["WATCH", "k"]]) {
    await assert.rejects(client.send(args), TypeError, String(args[0]));
  }
  assert.equal(await client.send(["SET", "k", "v"]), "OK");
  await using own = await client.duplicate({ commandTimeoutMs: 0 });
  const popped = own.send(["BLPOP", "{q}list", 0]);
  assert.equal(await client.send(["RPUSH", "{q}list", "job"]), 1);
  assert.deepEqual(await popped, ["{q}list", "job"]);
});
