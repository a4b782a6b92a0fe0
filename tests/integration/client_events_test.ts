/**
 * The events clients dispatch about their connections: what a listener hears
 * when a server dies and comes back, when a connect fails, and which node a
 * cluster client's event is about.
 *
 * @module
 */
import assert from "node:assert/strict";
import { RedisClient, RedisConnectionError } from "../../mod.ts";
import {
  type RedisClientEvent,
  RedisClusterClient,
  type RedisEventTarget,
  RedisSentinelClient,
} from "../../client.ts";
import { closedPort } from "../../src/testing/closed_port.ts";
import {
  startRedisCluster,
  startRedisSentinel,
  startRedisServer,
} from "../../testing.ts";

const TYPES = ["connect", "disconnect", "reconnecting", "error"] as const;
/** A bound on every wait, so a missing event fails the test instead of hanging it. */
const WAIT_MS = 10_000;

/** Records every client event of `target`, and lets a test wait for one. */
function record(target: RedisEventTarget): {
  events: RedisClientEvent[];
  until(type: RedisClientEvent["type"], count: number): Promise<void>;
} {
  const events: RedisClientEvent[] = [];
  const waiters: (() => void)[] = [];
  for (const type of TYPES) {
    target.addEventListener(type, (event) => {
      events.push(event);
      for (const wake of waiters.splice(0)) wake();
    });
  }
  const seen = (type: string) => events.filter((e) => e.type === type).length;
  return {
    events,
    /** Resolves once `count` events of `type` have arrived in all. */
    async until(type, count) {
      const deadline = AbortSignal.timeout(WAIT_MS);
      while (seen(type) < count) {
        await new Promise<void>((wake, reject) => {
          const expire = () =>
            reject(new Error(`no ${count} ${type} event(s) in ${WAIT_MS} ms`));
          if (deadline.aborted) return expire();
          deadline.addEventListener("abort", expire, { once: true });
          waiters.push(() => {
            deadline.removeEventListener("abort", expire);
            wake();
          });
        });
      }
    },
  };
}

/** One line per event, e.g. `reconnecting 2 (after 37 ms)`. */
function describe(event: RedisClientEvent): string {
  switch (event.type) {
    case "connect":
      return `connect${event.reconnect ? " (reconnect)" : ""}`;
    case "disconnect":
      return `disconnect (${event.cause?.name ?? "closed"})`;
    case "reconnecting":
      return `reconnecting ${event.attempt}`;
    case "error":
      return `error (${event.error.name})`;
  }
}

Deno.test("events: a killed and restarted server gives connect, disconnect with its cause, reconnecting/error per attempt, connect, and disconnect on close", async () => {
  await using server = await startRedisServer();
  const client = new RedisClient(server.url, {
    connectTimeoutMs: 2000,
    reconnect: { maxAttempts: 1000, baseDelayMs: 10, maxDelayMs: 40 },
  });
  const log = record(client);
  try {
    assert.equal(await client.send(["PING"]), "PONG");
    await server.kill();
    // Two failed attempts prove the client keeps trying while Redis is down.
    await log.until("error", 2);
    await server.restart();
    await log.until("connect", 2);
    assert.equal(await client.send(["PING"]), "PONG");
  } finally {
    await client.close();
  }

  const lines = log.events.map(describe);
  // Two lines per failed attempt, around five fixed ones.
  const attempts = (lines.length - 3) / 2;
  assert.deepEqual(lines, [
    "connect",
    "disconnect (RedisConnectionError)",
    ...Array.from(
      { length: attempts - 1 },
      (_, i) => [`reconnecting ${i + 1}`, "error (RedisConnectionError)"],
    ).flat(),
    `reconnecting ${attempts}`,
    "connect (reconnect)",
    "disconnect (closed)",
  ]);
  assert.ok(attempts >= 3, `only ${attempts} attempts`);
  const delays = log.events.flatMap((e) =>
    e.type === "reconnecting" ? [e.delayMs] : []
  );
  // The first attempt is immediate; later ones back off within the policy.
  assert.equal(delays[0], 0);
  for (const delay of delays.slice(1)) assert.ok(delay > 0 && delay <= 40);
  const address = `127.0.0.1:${server.port}`;
  assert.ok(log.events.every((e) => e.address === address));
  const drop = log.events[1];
  assert.ok(drop.type === "disconnect");
  assert.ok(drop.cause instanceof RedisConnectionError);
  assert.equal(client.stats.reconnects, 1);
});

Deno.test("events: a first connect that fails dispatches error only, and no listener is needed", async () => {
  const port = await closedPort();
  const client = new RedisClient(`redis://127.0.0.1:${port}`, {
    connectTimeoutMs: 500,
  });
  const log = record(client);
  await assert.rejects(client.connect(), RedisConnectionError);
  await client.close();
  assert.deepEqual(log.events.map(describe), ["error (RedisConnectionError)"]);
  assert.equal(log.events[0].address, `127.0.0.1:${port}`);

  // Without listeners an error event goes nowhere: nothing throws.
  const quiet = new RedisClient(`redis://127.0.0.1:${port}`, {
    connectTimeoutMs: 500,
  });
  await assert.rejects(quiet.connect(), RedisConnectionError);
  await quiet.close();
});

Deno.test("events: a cluster client passes on each node's events, naming the node", async () => {
  await using cluster = await startRedisCluster({ masters: 3 });
  const client = new RedisClusterClient(cluster.urls);
  const log = record(client);
  try {
    await client.connect();
    await client.send(["SET", "k", "v"]);
  } finally {
    await client.close();
  }
  const masters = client.masters.map((url) => new URL(url).host).sort();
  const byType = (type: string) =>
    log.events.filter((e) => e.type === type).map((e) => e.address).sort();
  assert.equal(masters.length, 3);
  assert.deepEqual(byType("connect"), masters);
  assert.deepEqual(byType("disconnect"), masters);
  assert.ok(log.events.every((e) => e.target === client));
});

Deno.test("events: a cluster client passes on a dead node's disconnect, reconnecting and error events, naming the node", async () => {
  await using cluster = await startRedisCluster({ masters: 3 });
  const client = new RedisClusterClient(cluster.urls);
  const log = record(client);
  try {
    await client.connect();
    await client.send(["SET", "k", "v"]);
    const dead = new URL(cluster.nodes[0].url).host;
    await cluster.nodes[0].kill();
    // The node's client notices the drop and tries to reconnect at once;
    // each failed attempt is an error event of the node, passed on.
    await log.until("error", 1);
    const of = (type: string) =>
      log.events.filter((e) => e.type === type).map((e) => e.address);
    assert.deepEqual(of("disconnect"), [dead]);
    assert.ok(of("reconnecting").length >= 1);
    assert.ok(of("reconnecting").every((address) => address === dead));
    assert.ok(of("error").every((address) => address === dead));
    assert.ok(log.events.every((e) => e.target === client));
  } finally {
    await client.close();
  }
});

Deno.test("events: a Sentinel client passes on its master's events, naming the master", async () => {
  await using deployment = await startRedisSentinel({
    replicas: 0,
    sentinels: 1,
  });
  const client = new RedisSentinelClient(deployment.sentinelUrls, {
    masterName: deployment.masterName,
  });
  const log = record(client);
  try {
    await client.connect();
    assert.equal(await client.send(["SET", "k", "v"]), "OK");
  } finally {
    await client.close();
  }
  const master = `127.0.0.1:${deployment.master.port}`;
  assert.deepEqual(
    log.events.map((e) => `${describe(e)} ${e.address}`),
    [`connect ${master}`, `disconnect (closed) ${master}`],
  );
  assert.ok(log.events.every((e) => e.target === client));
});
