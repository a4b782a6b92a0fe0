import assert from "node:assert/strict";
import { RedisReplyError } from "../../mod.ts";
import { PendingReplies } from "../../src/client/_pending.ts";
import { ErrorReply } from "../../src/client/resp.ts";

Deno.test("pending replies are handed out in send order, error replies as RedisReplyError", async () => {
  const pending = new PendingReplies();
  const a = pending.add("get", Infinity);
  const b = pending.add("hget", Infinity);
  assert.equal(pending.waiting, 2);
  assert.ok(pending.settle("one"));
  assert.ok(pending.settle(new ErrorReply("WRONGTYPE nope")));
  assert.equal(pending.settle("stray"), false);
  assert.equal(await a, "one");
  const error = await b.catch((e) => e);
  assert.ok(error instanceof RedisReplyError);
  assert.equal(error.command, "HGET");
  assert.equal(error.reply, "WRONGTYPE nope");
  assert.equal(pending.waiting, 0);
});

Deno.test("expired commands reject, keep their place, and their late reply is dropped", async () => {
  const pending = new PendingReplies();
  const late = pending.add("ping", 10);
  const onTime = pending.add("ping", 30);
  const next = pending.expire(20, (name) => new Error(`${name} timed out`));
  assert.equal(next, 30);
  await assert.rejects(late, /PING timed out/);
  assert.equal(pending.waiting, 1);
  assert.ok(pending.settle("late reply, dropped"));
  assert.ok(pending.settle("PONG"));
  assert.equal(await onTime, "PONG");
});

Deno.test("failAll rejects every waiting command and empties the queue", async () => {
  const pending = new PendingReplies();
  const all = [pending.add("a", Infinity), pending.add("b", Infinity)];
  pending.failAll(new Error("gone"));
  for (const p of all) await assert.rejects(p, /gone/);
  assert.equal(pending.waiting, 0);
  assert.equal(pending.settle("x"), false);
});
