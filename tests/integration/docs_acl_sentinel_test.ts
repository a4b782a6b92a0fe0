/**
 * The ACL line that `docs/troubleshooting.md` gives for the Sentinel user
 * does what it says: with it the Sentinel client connects and follows a
 * failover, and without any one of its commands or channels the client
 * refuses to start, naming what was refused. The line is read from the page
 * itself and sent to real Sentinels as written, so the two cannot drift.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisSentinelClient, RedisConnectionError } from "../../mod.ts";
import type { RedisErrorEvent } from "../../src/client/events.ts";
import { RedisSentinelClient } from "../../src/client/sentinel.ts";
import { ask } from "../../src/testing/_ask.ts";
import {
  type RedisSentinel,
  startRedisSentinel,
} from "../../src/testing/redis_sentinel.ts";

const PAGE = new URL("../../docs/troubleshooting.md", import.meta.url);
const USER = "app-sentinel";

/** The page's Sentinel line, split into words. */
async function documentedLine(): Promise<string[]> {
  const text = await Deno.readTextFile(PAGE);
  const line = text.split("\n").find((l) =>
    l.startsWith(`ACL SETUSER ${USER} `)
  );
  assert.ok(line, `docs/troubleshooting.md has no ACL SETUSER ${USER} line`);
  return line.split(" ");
}

/** Creates, on every Sentinel, the page's user named `name` with password `pw`, less `missing`. */
async function addUser(
  deployment: RedisSentinel,
  words: readonly string[],
  name: string,
  missing?: string,
): Promise<void> {
  const args = words
    .filter((w) => w !== missing)
    .map((w) => w === USER ? name : w === ">PASSWORD" ? ">pw" : w);
  for (const sentinel of deployment.sentinels) {
    assert.equal(await ask(sentinel, args), "OK", args.join(" "));
  }
}

function urls(deployment: RedisSentinel, user: string): string[] {
  return deployment.sentinelUrls.map((u) =>
    u.replace("redis://", `redis://${user}:pw@`)
  );
}

Deno.test("docs ACL: the Sentinel line of docs/troubleshooting.md lets the client follow a failover, and each of its permissions is needed", async () => {
  const words = await documentedLine();
  const permissions = words.filter((w) => /^[+&]/.test(w));
  assert.ok(permissions.includes("+subscribe"), words.join(" "));
  assert.ok(permissions.includes("&+switch-master"), words.join(" "));
  await using deployment = await startRedisSentinel({
    replicas: 1,
    sentinels: 1,
    downAfterMs: 1000,
    failoverTimeoutMs: 2000,
  });
  await addUser(deployment, words, USER);
  const variants = permissions.map((missing, i) => ({
    missing,
    name: `without-${i}`,
  }));
  for (const { missing, name } of variants) {
    await addUser(deployment, words, name, missing);
  }

  // Without any one permission, the client does not start. All at once, so
  // the run stays short however many permissions the line has.
  const outcomes = await Promise.all(
    variants.map(({ name }) =>
      createRedisSentinelClient(urls(deployment, name), {
        masterName: deployment.masterName,
        connectTimeoutMs: 3000,
      }).then(
        async (client) => {
          await client.close();
          return undefined;
        },
        (error: unknown) => error,
      )
    ),
  );
  variants.forEach(({ missing }, i) => {
    const error = outcomes[i];
    assert.ok(
      error instanceof RedisConnectionError,
      `the client started without ${missing}: ${error}`,
    );
    const text = `${error.message} ${String(error.cause)}`;
    assert.match(text, /NOPERM/, `without ${missing}: ${text}`);
    assert.ok(!text.includes(":pw@"), text);
    if (missing === "+subscribe" || missing.startsWith("&")) {
      // It says why it matters and what to grant.
      assert.match(error.message, /accepted the subscription/, text);
      assert.match(error.message, /\+subscribe and the failover channels/);
      assert.match(error.message, /requireFailoverEvents: false/);
    }
  });

  // With the documented line, it follows a failover and writes reach the
  // new master.
  await using client = await createRedisSentinelClient(
    urls(deployment, USER),
    { masterName: deployment.masterName },
  );
  const errors: RedisErrorEvent[] = [];
  client.addEventListener("error", (e) => errors.push(e));
  assert.equal(await client.send(["SET", "k", "before"]), "OK");
  const promoted = await deployment.failover();
  assert.equal(await client.send(["SET", "k", "after"]), "OK");
  assert.equal(client.stats.failovers, 1);
  assert.equal(await ask(promoted, ["GET", "k"]), "after");
  assert.equal(client.stats.subscriptionsRefused, 0);
  assert.deepEqual(errors.filter((e) => /NOPERM/.test(e.error.message)), []);
});

Deno.test("Sentinel client: a refused subscription is an error event and a count, and with requireFailoverEvents false the client still starts", async () => {
  const words = await documentedLine();
  await using deployment = await startRedisSentinel({
    replicas: 0,
    sentinels: 2,
  });
  await addUser(deployment, words, "no-subscribe", "+subscribe");
  const refused: RedisErrorEvent[] = [];
  await using client = new RedisSentinelClient(
    urls(deployment, "no-subscribe"),
    { masterName: deployment.masterName, requireFailoverEvents: false },
  );
  client.addEventListener("error", (e) => refused.push(e));
  await client.connect();
  assert.equal(await client.send(["PING"]), "PONG");
  // Each Sentinel refused once; the error names it and the refusal.
  const sentinels = deployment.sentinels.map((s) => `127.0.0.1:${s.port}`);
  assert.deepEqual(refused.map((e) => e.address).sort(), sentinels.sort());
  for (const event of refused) {
    assert.match(event.error.message, /NOPERM/);
    assert.match(event.error.message, /subscribe/i);
    assert.ok(!event.error.message.includes("pw"), event.error.message);
  }
  assert.equal(client.stats.subscriptionsRefused, 2);
  assert.throws(
    () =>
      new RedisSentinelClient(deployment.sentinelUrls, {
        masterName: deployment.masterName,
        requireFailoverEvents: "no" as unknown as boolean,
      }),
    TypeError,
  );
});
