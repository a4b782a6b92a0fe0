/**
 * `waitReplicas` follows every form a storage write takes: a script's first
 * `EVAL` on a client, its `EVALSHA` after, the `EVAL` sent again after
 * `NOSCRIPT` (a replica promoted by a failover has no scripts), `HSET`,
 * `HDEL` and `DEL`. With the only replica gone, `WAIT 1` can confirm
 * nothing, so each write must reject with `ReplicationError` (executed
 * "yes": the master applied it); one that resolved was sent without `WAIT`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisStorage,
  type RedisClient,
  ReplicationError,
} from "../../../mod.ts";
import { SubjectProperty } from "../../../storage.ts";
import { startRedisServer } from "../../../testing.ts";

/** How many times the master ran each command so far (`INFO commandstats`). */
async function calls(master: RedisClient): Promise<Record<string, number>> {
  const info = String(await master.send(["INFO", "commandstats"]));
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
    counts[match[1].toUpperCase()] = Number(match[2]);
  }
  return counts;
}

/**
 * Runs `write`, which must reject with ReplicationError (only a `WAIT`
 * reply makes one), and returns the form the write took on the master: the
 * script commands it ran (`EVAL`, `EVALSHA`), else its plain write command.
 */
async function unconfirmed(
  master: RedisClient,
  write: () => Promise<unknown>,
): Promise<string[]> {
  const before = await calls(master);
  const error = await write().then(() => undefined, (e) => e);
  const after = await calls(master);
  const ran = Object.keys(after).filter((name) =>
    name !== "INFO" && after[name] !== (before[name] ?? 0)
  ).sort();
  assert.ok(
    error instanceof ReplicationError,
    `${ran.join(", ")} resolved without WAIT confirming it: ${error}`,
  );
  assert.equal(error.executed, "yes");
  assert.equal(error.acknowledged, 0);
  assert.ok(ran.includes("WAIT"), ran.join(", "));
  // A script's own redis.call()s count too; its form is what was sent.
  const scripts = ran.filter((name) => name === "EVAL" || name === "EVALSHA");
  return scripts.length > 0
    ? scripts
    : ran.filter((name) => ["HSET", "HDEL", "DEL"].includes(name));
}

Deno.test("waitReplicas: every write form (first EVAL, EVALSHA, EVAL after NOSCRIPT, HSET, HDEL, DEL) is followed by WAIT", async () => {
  // Replicas sync at once, not after the default 5 s wait for others.
  await using master = await startRedisServer({
    config: ["repl-diskless-sync-delay 0"],
  });
  await using replica = await startRedisServer({
    config: [`replicaof 127.0.0.1 ${master.port}`],
  });
  await using shared = await createRedisClient(master.url);
  // A dedicated connection: WAIT blocks it.
  await using direct = await shared.duplicate();
  // Until the replica is in sync, WAIT counts nothing.
  await direct.send(["SET", "sync", "1"]);
  for (let i = 0; i < 300; i++) {
    if (await direct.send(["WAIT", 1, 100]) === 1) break;
  }
  await using client = await createRedisClient(master.url);
  const options = { waitReplicas: 1, waitTimeoutMs: 300 };
  const storage = createRedisStorage(client, options)("s");
  const increment = (n: unknown) => (typeof n === "number" ? n : 0) + 1;
  // While the replica is there, each script runs once with EVAL; this
  // client knows them afterwards and sends EVALSHA.
  await storage.set(new SubjectProperty("a", 1));
  await storage.set(new SubjectProperty("n", increment));
  await storage.store({
    updates: [new SubjectProperty("b", 1)],
    deletes: [new SubjectProperty("c")],
  });
  await replica.kill();

  assert.deepEqual(
    await unconfirmed(direct, () => storage.set(new SubjectProperty("a", 2))),
    ["EVALSHA"],
  );
  assert.deepEqual(
    await unconfirmed(
      direct,
      () => storage.set(new SubjectProperty("n", increment)),
    ),
    ["EVALSHA"],
  );
  assert.deepEqual(
    await unconfirmed(
      direct,
      () => storage.store({ updates: [new SubjectProperty("b", 2)] }),
    ),
    ["HSET"],
  );
  assert.deepEqual(
    await unconfirmed(direct, () => storage.delete(new SubjectProperty("b"))),
    ["HDEL"],
  );
  // A master that lost its scripts, as a promoted replica has none.
  await direct.send(["SCRIPT", "FLUSH"]);
  assert.deepEqual(
    await unconfirmed(direct, () => storage.set(new SubjectProperty("a", 3))),
    ["EVAL", "EVALSHA"],
  );
  assert.deepEqual(
    await unconfirmed(
      direct,
      () =>
        storage.store({
          updates: [new SubjectProperty("b", 3)],
          deletes: [new SubjectProperty("c")],
        }),
    ),
    ["EVAL", "EVALSHA"],
  );
  // A client that never ran the scripts sends EVAL first.
  await using fresh = await createRedisClient(master.url);
  const first = createRedisStorage(fresh, options)("s");
  assert.deepEqual(
    await unconfirmed(
      direct,
      () => first.set(new SubjectProperty("n", increment)),
    ),
    ["EVAL"],
  );
  // Every one of them was applied: executed "yes" told the truth.
  assert.deepEqual(await direct.send(["HGETALL", "s:s"]), [
    "pa",
    "3",
    "pn",
    "3",
    "pb",
    "3",
  ]);
  assert.deepEqual(
    await unconfirmed(direct, () => storage.flush()),
    ["DEL"],
  );
  assert.equal(await direct.send(["EXISTS", "s:s"]), 0);
});
