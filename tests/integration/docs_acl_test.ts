/**
 * The ACL line that `docs/troubleshooting.md` gives for a single server does
 * what it says: with it (and the optional commands it lists) every storage
 * and subject call succeeds, and without any one of its commands some call is
 * refused. The line is read from the page itself, so the two cannot drift.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisStorage,
  KRules,
  RedisReplyError,
  ReplicationError,
} from "../../mod.ts";
import { startRedisServer } from "../../src/testing/redis_server.ts";
import { createRedisClusterClient } from "../../client.ts";
import { startRedisCluster } from "../../testing.ts";

const PAGE = new URL("../../docs/troubleshooting.md", import.meta.url);
/** What the page says to add for a database other than 0, `clientName`, `waitReplicas`. */
const OPTIONAL = ["+select", "+client|setname", "+wait"];
/** What the page says to add on a cluster. */
const CLUSTER_COMMANDS = ["+cluster|keyslot", "+asking"];

/** The page's single-server line: its key pattern and its commands. */
async function documentedLine(): Promise<{ keys: string; commands: string[] }> {
  const text = await Deno.readTextFile(PAGE);
  const line = text.split("\n").find((l) =>
    l.startsWith("ACL SETUSER tenantA ")
  );
  assert.ok(line, "docs/troubleshooting.md has no ACL SETUSER tenantA line");
  const words = line.split(" ");
  const keys = words.find((w) => w.startsWith("~"));
  assert.ok(keys, `no key pattern in: ${line}`);
  return { keys, commands: words.filter((w) => w.startsWith("+")) };
}

/** Every call the page's table lists for a single server, on db 2 with a client name. */
async function everyCall(url: string, prefix: string): Promise<void> {
  await using client = await createRedisClient(url, {
    clientName: "docs-acl",
    reconnect: false,
  });
  const krules = new KRules({
    storage: createRedisStorage(client, { keyPrefix: prefix }),
  });
  const s = krules.subject<{ a: number; b: number; n: number }>("user-1");
  await s.set("a", 1);
  await s.setExt("x", "y");
  await s.store(); // HSET
  await s.delete("a");
  await s.store(); // HDEL
  await s.set("a", 2);
  await s.set("b", 3);
  await s.delete("b");
  await s.store(); // the store script: HSET and HDEL
  const t = krules.subject<{ a: number; b: number; n: number }>("user-1");
  await t.get("a"); // HGETALL
  await t.get("a", { useCache: false }); // HGET
  await t.set("a", 5, { useCache: false }); // the set script
  await t.setMany({ a: 6, b: 7 }, { useCache: false }); // the set-many script
  await t.set("n", (n) => (n ?? 0) + 1, { useCache: false }); // HGET, CAS script
  await t.delete("b", { useCache: false }); // HDEL
  await t.expire(60_000); // the expire script: EXISTS, PEXPIRE
  await t.ttl(); // PTTL
  await t.expire(null); // the expire script: PERSIST
  const names: string[] = [];
  for await (const name of krules.subjectNames()) names.push(name);
  assert.deepEqual(names, ["user-1"]); // CLUSTER SLOTS, SCAN
  await t.flush(); // HGETALL, DEL
  const waited = new KRules({
    storage: createRedisStorage(client, {
      keyPrefix: prefix,
      waitReplicas: 1,
      waitTimeoutMs: 10,
    }),
  }).subject("user-2");
  // No replica answers, so WAIT itself must run and report 0 of 1.
  const error = await waited.set("a", 1, { useCache: false }).then(
    () => assert.fail("WAIT 1 without a replica resolved"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof ReplicationError, String(error));
  // `acknowledged` is undefined when WAIT itself failed: pass on why.
  if (error.acknowledged === undefined) throw error.cause;
  assert.equal(error.acknowledged, 0, error.message);
}

Deno.test(
  "docs ACL: the single-server line of docs/troubleshooting.md lets every call run, and each of its commands is needed",
  async () => {
    const { keys, commands } = await documentedLine();
    const all = [...commands, ...OPTIONAL];
    const users: { name: string; missing?: string; commands: string[] }[] = [
      { name: "documented", commands: all },
      ...all.map((missing) => ({
        name: `without-${missing.slice(1).replace("|", "-")}`,
        missing,
        commands: all.filter((c) => c !== missing),
      })),
    ];
    await using server = await startRedisServer({
      config: users.map((u) =>
        `user ${u.name} on >pw ${keys} resetchannels -@all ${
          u.commands.join(" ")
        }`
      ),
    });
    // The tenant's keys are s:tenantA:*; each user gets a prefix within it.
    const prefix = (user: string) => `${keys.slice(3, -1)}${user}:`;
    const url = (user: string) =>
      server.url.replace("://", `://${user}:pw@`).replace(/\/0$/, "/2");

    await everyCall(url("documented"), prefix("documented"));
    for (const { name, missing } of users.slice(1)) {
      const error = await everyCall(url(name), prefix(name)).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(
        error instanceof RedisReplyError,
        `every call ran without ${missing}: ${error}`,
      );
      assert.match(
        error.message,
        /NOPERM|can't run this command/,
        `without ${missing}`,
      );
    }
  },
);

Deno.test(
  "docs ACL: on a cluster, the page's line with its cluster commands and no other key pattern lets a tenant list its subjects on every master",
  async () => {
    const { keys, commands } = await documentedLine();
    await using cluster = await startRedisCluster({ masters: 3 });
    for (const url of cluster.urls) {
      await using admin = await createRedisClient(url);
      await admin.send([
        ...["ACL", "SETUSER", "tenant", "reset", "on", ">pw", keys],
        ...["resetchannels", "-@all", ...commands, ...CLUSTER_COMMANDS],
      ]);
    }
    const urls = cluster.urls.map((url) => url.replace("://", "://tenant:pw@"));
    await using client = await createRedisClusterClient(urls);
    // Each user's prefix within the tenant's keys, as above; one with a hash
    // tag, whose subjects all live in one slot.
    for (
      const prefix of [`${keys.slice(3, -1)}a:`, `${keys.slice(3, -1)}{b}:`]
    ) {
      const krules = new KRules({
        storage: createRedisStorage(client, { keyPrefix: prefix }),
      });
      const names = Array.from({ length: 30 }, (_, i) => `user-${i}`);
      for (const name of names) {
        await krules.subject<{ n: number }>(name).set(
          "n",
          (n) => (n ?? 0) + 1,
          {
            useCache: false,
          },
        );
      }
      const listed: string[] = [];
      for await (const name of krules.subjectNames()) listed.push(name);
      assert.deepEqual(listed.sort(), names.sort(), prefix);
    }
  },
);
