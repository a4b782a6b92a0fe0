/**
 * The adapter contract every client kind must keep, registered per kind.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisClient, RedisReplyError } from "../../mod.ts";
import { toRedisSender } from "../../src/client/adapters/mod.ts";
import { startRedisServer } from "../../testing.ts";
import type { ClientKind } from "../helpers/clients.ts";

/** Lua that returns the bytes of a string value, to check binary round trips. */
const BYTES_OF = "return {string.byte(redis.call('GET', KEYS[1]), 1, -1)}";

/** Registers the adapter contract's tests for one client kind. */
export function defineAdapterTests(kind: ClientKind): void {
  Deno.test(`${kind.name}: replies arrive as RedisReply — text, integers, nil, nested arrays`, async () => {
    await using server = await startRedisServer();
    await using fixture = await kind.open([server.url]);
    const redis = fixture.commands;
    assert.equal(await redis.send(["HSET", "h", "a", 1, "b", "two"]), 2);
    assert.equal(await redis.send(["HGET", "h", "a"]), "1");
    assert.deepEqual(await redis.send(["HGETALL", "h"]), [
      "a",
      "1",
      "b",
      "two",
    ]);
    assert.equal(await redis.send(["HGET", "h", "missing"]), null);
    assert.equal(await redis.send(["INCRBY", "n", 41]), 41);
    assert.deepEqual(
      await redis.send(["EVAL", "return {1, 'two', {3, 'four'}}", 0]),
      [1, "two", [3, "four"]],
    );
    assert.equal(await redis.send(["SET", "s", "Grüße ✓"]), "OK");
    assert.equal(await redis.send(["GET", "s"]), "Grüße ✓");
  });

  Deno.test(`${kind.name}: RESP3 maps and doubles arrive as RESP2 sends them — every field, in order, and text`, async () => {
    await using server = await startRedisServer();
    await using fixture = await kind.open([server.url]);
    const redis = fixture.commands;
    // A plain object would move integer-like keys to the front and drop a
    // "__proto__" key; a hash field may be named either.
    const fields = ["b", "2", "__proto__", "1", "constructor", "a"];
    await redis.send(["HSET", "h", ...fields.flatMap((f) => [f, `v-${f}`])]);
    assert.deepEqual(
      await redis.send(["HGETALL", "h"]),
      fields.flatMap((f) => [f, `v-${f}`]),
    );
    await redis.send(["ZADD", "z", "1.5", "m"]);
    assert.equal(await redis.send(["ZSCORE", "z", "m"]), "1.5");
  });

  Deno.test(`${kind.name}: binary arguments reach the server byte for byte`, async () => {
    await using server = await startRedisServer();
    await using fixture = await kind.open([server.url]);
    const bytes = new Uint8Array([0xff, 0x00, 0x61, 0x0d, 0x0a]);
    await fixture.commands.send(["SET", "bin", bytes]);
    // A view into a larger buffer must send only its own bytes.
    const view = new Uint8Array([9, 9, 0x62, 0x63, 9]).subarray(2, 4);
    await fixture.commands.send(["SET", "view", view]);
    await using check = await createRedisClient(server.url);
    assert.deepEqual(
      await check.send(["EVAL", BYTES_OF, 1, "bin"]),
      [0xff, 0x00, 0x61, 0x0d, 0x0a],
    );
    assert.equal(await check.send(["GET", "view"]), "bc");
  });

  Deno.test(`${kind.name}: error replies reject with RedisReplyError and its code; the client keeps working`, async () => {
    await using server = await startRedisServer();
    await using fixture = await kind.open([server.url]);
    const redis = fixture.commands;
    await redis.send(["SET", "str", "v"]);
    const wrongType = await redis.send(["HGET", "str", "f"]).catch((e) => e);
    assert.ok(wrongType instanceof RedisReplyError, String(wrongType));
    assert.equal(wrongType.code, "WRONGTYPE");
    assert.equal(wrongType.command, "HGET");
    assert.match(wrongType.message, /^WRONGTYPE Operation against a key/);
    const noScript = await redis.send(["EVALSHA", "0".repeat(40), 0]).catch((
      e,
    ) => e);
    assert.ok(noScript instanceof RedisReplyError, String(noScript));
    assert.equal(noScript.code, "NOSCRIPT");
    await assert.rejects(
      redis.send(["NOSUCHCOMMAND"]),
      (e) => e instanceof RedisReplyError && e.code === "ERR",
    );
    assert.equal(await redis.send(["PING"]), "PONG");
  });

  Deno.test(`${kind.name}: toRedisSender recognises the client by its shape, once`, async () => {
    await using server = await startRedisServer();
    await using fixture = await kind.open([server.url]);
    const port = toRedisSender(fixture.client);
    // The storage shares compare-and-set state per port: one client, one port.
    assert.equal(toRedisSender(fixture.client), port);
    if ("send" in fixture.client) assert.equal(port, fixture.client);
    assert.equal(await port.send(["ECHO", "shape"]), "shape");
  });
}
