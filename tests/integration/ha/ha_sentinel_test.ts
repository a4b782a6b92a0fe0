import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisSentinelClient,
  createRedisStorage,
  RedisConnectionError,
  type RedisSentinelClientOptions,
  RedisTimeoutError,
  ReplicationError,
} from "../../../mod.ts";
import type { RedisSender, RedisSentinelClient } from "../../../client.ts";
import { SubjectProperty } from "../../../storage.ts";
import {
  type RedisSentinel,
  type RedisSentinelOptions,
  type RedisServer,
  startRedisSentinel,
  startRedisServer,
} from "../../../testing.ts";
import {
  type FakeSentinel,
  startFakeSentinel,
} from "../../helpers/fake_sentinel.ts";
import {
  ambiguous,
  COUNTER,
  startFailoverLoad,
} from "../../helpers/failover.ts";
import { reportFigures } from "../../helpers/figures.ts";
import { recording } from "../../helpers/redis.ts";

/** A Sentinel deployment and a client of it, disposed of together. */
async function sentinelFixture(
  options: RedisSentinelOptions,
  clientOptions: Partial<RedisSentinelClientOptions> = {},
): Promise<
  { deployment: RedisSentinel; client: RedisSentinelClient } & AsyncDisposable
> {
  const deployment = await startRedisSentinel(options);
  try {
    const client = await createRedisSentinelClient(deployment.sentinelUrls, {
      masterName: deployment.masterName,
      ...clientOptions,
    });
    return {
      deployment,
      client,
      async [Symbol.asyncDispose]() {
        await client.close();
        await deployment.stop();
      },
    };
  } catch (error) {
    await deployment.stop();
    throw error;
  }
}

/** The counter and every writer's stored sequence, as the master holds them now. */
async function finalState(
  client: RedisSender,
  writers: number,
): Promise<{ count: number; stored: number[] }> {
  const storage = createRedisStorage(client);
  const count = Number(
    await storage(COUNTER).get(new SubjectProperty("n")).catch(() => 0),
  );
  const stored = await Promise.all(
    Array.from(
      { length: writers },
      (_, i) =>
        storage(`writer-${i}`).get(new SubjectProperty("seq")).then(Number)
          .catch(() => 0),
    ),
  );
  return { count, stored };
}

async function crashUnderLoad(
  waitReplicas: number,
): Promise<void> {
  // Two replicas: once one is promoted, the other still confirms writes.
  await using fixture = await sentinelFixture({
    replicas: 2,
    sentinels: 3,
  });
  const { deployment, client } = fixture;
  const load = startFailoverLoad(
    createRedisStorage(client, { waitReplicas, waitTimeoutMs: 500 }),
  );
  try {
    await load.succeeded(200);
    // Timed from the moment the master is gone: replies it sent before
    // dying may still be read after the signal.
    await deployment.master.kill();
    const killedAt = performance.now();
    // Nobody tells the client: it follows Sentinel by itself.
    const firstWrite = await load.succeeded(1, killedAt);
    await load.succeeded(200, killedAt);
    await load.stop();
    const { count, stored } = await finalState(client, 4);
    const unknown = ambiguous(load.errors);
    const lost = Math.max(0, load.increments - count);
    reportFigures(
      `Sentinel crash, waitReplicas ${waitReplicas}: first write ${
        Math.round(firstWrite - killedAt)
      } ms after SIGKILL; caller errors ${
        JSON.stringify(load.errors)
      }; counter ${count}, ${load.increments} increments resolved, ${unknown} calls ended in doubt, ${lost} acknowledged increments lost; master now ${client.master} (${client.stats.failovers} failover)`,
    );
    assert.equal(client.stats.failovers, 1);
    assert.notEqual(client.master, deployment.master.url);
    // No call applied twice or invented: at most the ones in doubt were
    // applied without their caller knowing.
    assert.ok(
      count <= load.increments + unknown,
      `${count} > ${load.increments} + ${unknown}`,
    );
    if (waitReplicas > 0) {
      assert.equal(lost, 0, "an acknowledged increment was lost");
      for (const [i, seq] of stored.entries()) {
        assert.ok(
          seq >= load.lastStored[i],
          `writer ${i}: stored ${seq}, but ${
            load.lastStored[i]
          } was acknowledged`,
        );
      }
    }
  } finally {
    await load.stop();
  }
}

Deno.test("Sentinel, crash: waitReplicas 1 loses no acknowledged increment; the client follows by itself", async () => {
  await crashUnderLoad(1);
});

Deno.test("Sentinel, graceful: SENTINEL FAILOVER under load, no caller sees an error and counts are exact", async () => {
  await using fixture = await sentinelFixture({
    replicas: 2,
    sentinels: 3,
  });
  const { deployment, client } = fixture;
  const load = startFailoverLoad(
    createRedisStorage(client, { waitReplicas: 1, waitTimeoutMs: 500 }),
  );
  try {
    await load.succeeded(200);
    const startedAt = performance.now();
    const promoted = await deployment.failover();
    const doneAt = performance.now();
    await load.succeeded(200, doneAt);
    await load.stop();
    const { count, stored } = await finalState(client, 4);
    // The longest gap between two successful calls: how long writes paused.
    let pause = 0;
    for (let i = 1; i < load.successes.length; i++) {
      if (load.successes[i] > startedAt) {
        pause = Math.max(pause, load.successes[i] - load.successes[i - 1]);
      }
    }
    reportFigures(
      `Sentinel graceful failover: done in ${
        Math.round(doneAt - startedAt)
      } ms; longest pause between writes ${
        Math.round(pause)
      } ms; caller errors ${
        JSON.stringify(load.errors)
      }; counter ${count}, ${load.increments} increments resolved`,
    );
    assert.deepEqual(load.errors, {}, load.samples.join(" | "));
    assert.equal(count, load.increments);
    assert.deepEqual(stored, load.lastStored);
    assert.equal(client.master, promoted.url);
  } finally {
    await load.stop();
  }
});

/**
 * A graceful failover that outlasts `commandTimeoutMs`: calls held past
 * their deadline reject as not executed, and every increment that resolved
 * is on the new master.
 */
async function failoverLongerThanDeadline(
  commandTimeoutMs: number,
): Promise<void> {
  await using fixture = await sentinelFixture({
    replicas: 2,
    sentinels: 3,
  }, { commandTimeoutMs });
  const { deployment, client } = fixture;
  const load = startFailoverLoad(
    createRedisStorage(client, { waitReplicas: 1, waitTimeoutMs: 500 }),
  );
  try {
    await load.succeeded(200);
    const startedAt = performance.now();
    const promoted = await deployment.failover();
    const doneAt = performance.now();
    await load.succeeded(200, doneAt);
    await load.stop();
    // Read from the new master itself, not through the client under test.
    await using direct = await createRedisClient(promoted.url);
    const { count, stored } = await finalState(direct, 4);
    // Increments whose caller was told they may have run.
    const unknown = (load.failedIncrements.maybe ?? 0) +
      (load.failedIncrements.yes ?? 0);
    reportFigures(
      `Sentinel graceful failover, commandTimeoutMs ${commandTimeoutMs}: done in ${
        Math.round(doneAt - startedAt)
      } ms; caller errors ${JSON.stringify(load.errors)}, increments failed ${
        JSON.stringify(load.failedIncrements)
      }; counter ${count}, ${load.increments} increments resolved`,
    );
    assert.equal(client.master, promoted.url);
    // Every resolved increment is on the new master, and an increment whose
    // error said "not executed" was not: at most those in doubt were applied
    // without their caller knowing.
    assert.ok(
      count >= load.increments,
      `${
        load.increments - count
      } acknowledged increments lost (${count} stored, ${load.increments} resolved)`,
    );
    assert.ok(
      count <= load.increments + unknown,
      `${count} stored > ${load.increments} resolved + ${unknown} in doubt`,
    );
    for (const text of load.notExecutedSamples) {
      assert.match(text, /^RedisTimeoutError: .* was not executed: a failover/);
    }
    for (const [i, seq] of stored.entries()) {
      assert.ok(
        seq >= load.lastStored[i],
        `writer ${i}: stored ${seq}, but ${
          load.lastStored[i]
        } was acknowledged`,
      );
    }
  } finally {
    await load.stop();
  }
}

Deno.test("Sentinel, graceful failover longer than commandTimeoutMs 500: no acknowledged increment lost", async () => {
  await failoverLongerThanDeadline(500);
});

Deno.test("Sentinel, graceful failover longer than commandTimeoutMs 1000: no acknowledged increment lost", async () => {
  await failoverLongerThanDeadline(1000);
});

/** The given Sentinels forget the master and watch `node` instead. */
async function monitorInstead(
  deployment: RedisSentinel,
  sentinelUrls: readonly string[],
  node: { port: number },
): Promise<void> {
  for (const url of sentinelUrls) {
    await using sentinel = await createRedisClient(url);
    const name = deployment.masterName;
    await sentinel.send(["SENTINEL", "REMOVE", name]);
    await sentinel.send([
      "SENTINEL",
      "MONITOR",
      name,
      "127.0.0.1",
      node.port,
      2,
    ]);
    await sentinel.send([
      "SENTINEL",
      "SET",
      name,
      "down-after-milliseconds",
      1000,
    ]);
  }
}

Deno.test("Demotion: a master turned replica answers READONLY; the client asks Sentinel (one of them hung) and writes go to the new master", async () => {
  await using fixture = await sentinelFixture({
    replicas: 1,
    sentinels: 3,
  }, { commandTimeoutMs: 3000 });
  const { deployment, client } = fixture;
  await client.send(["SET", "before", "1"]);
  const [replica] = deployment.replicas;
  // Dedicated connections: a shared client's send() refuses REPLICAOF.
  await using oldShared = await createRedisClient(deployment.master.url);
  await using newShared = await createRedisClient(replica.url);
  await using oldMaster = await oldShared.duplicate();
  await using newMaster = await newShared.duplicate();
  // Swap the roles behind the client's back, then tell Sentinel: no
  // +switch-master is ever published, so only READONLY can tell the client.
  // REPLICAOF changes a connection's state: the guard wants a dedicated one.
  {
    await using promote = await newMaster.duplicate();
    await using demote = await oldMaster.duplicate();
    await promote.send(["REPLICAOF", "NO", "ONE"]);
    await demote.send(["REPLICAOF", "127.0.0.1", replica.port]);
  }
  // One Sentinel hangs: resolutions must not wait for it.
  deployment.sentinels[2].pause();
  const write = client.send(["SET", "after", "2"]);
  await monitorInstead(
    deployment,
    deployment.sentinelUrls.slice(0, 2),
    replica,
  );
  const told = performance.now();
  assert.equal(await write, "OK");
  const latency = performance.now() - told;
  assert.ok(latency < 1000, `the write took ${latency} ms after Sentinel knew`);
  assert.equal(await newMaster.send(["GET", "after"]), "2");
  assert.equal(client.master, replica.url);
  assert.ok(client.stats.retries >= 1, JSON.stringify(client.stats));
  // And the next writes go there directly.
  assert.equal(await client.send(["INCR", "n"]), 1);
  assert.equal(await newMaster.send(["GET", "n"]), "1");
});

Deno.test("waitReplicas: a write no replica confirms rejects with ReplicationError, yet it was applied", async () => {
  await using fixture = await sentinelFixture({
    replicas: 1,
    sentinels: 1,
  });
  const { client } = fixture;
  const storage = createRedisStorage(client, {
    waitReplicas: 2,
    waitTimeoutMs: 100,
  });
  const error = await storage("s").store({
    inserts: [new SubjectProperty("a", 1)],
  }).catch((e) => e);
  assert.ok(error instanceof ReplicationError, String(error));
  assert.equal(error.required, 2);
  assert.ok(error.acknowledged! < 2, String(error.acknowledged));
  assert.match(
    error.message,
    /master applied HSET, but it is not confirmed durable: \d of 2 replica\(s\) acknowledged it within 100 ms/,
  );
  assert.equal(await client.send(["HGET", "s:s", "pa"]), "1");
  // One replica is there: waitReplicas 1 confirms every kind of write.
  const durable = createRedisStorage(client, {
    waitReplicas: 1,
    waitTimeoutMs: 1000,
  })("d");
  await durable.store({ inserts: [new SubjectProperty("a", 1)] });
  await durable.set(new SubjectProperty("b", 2));
  await durable.set(
    new SubjectProperty("a", (n: unknown) => Number(n) + 1),
  );
  await durable.delete(new SubjectProperty("b"));
  assert.deepEqual(await durable.load(), [{ a: 2 }, {}]);
  await durable.flush();
  assert.deepEqual(await durable.load(), [{}, {}]);
});

Deno.test("waitReplicas: bad values and clients that cannot WAIT on one connection are refused up front", async () => {
  await using fixture = await sentinelFixture({
    replicas: 0,
    sentinels: 1,
  });
  const { client } = fixture;
  assert.throws(
    () => createRedisStorage(client, { waitReplicas: -1 }),
    RangeError,
  );
  assert.throws(
    () => createRedisStorage(client, { waitReplicas: 1, waitTimeoutMs: 0 }),
    /WAIT 0 would wait forever/,
  );
  assert.throws(
    () => createRedisStorage(recording(client), { waitReplicas: 1 }),
    /waitReplicas needs this module's client/,
  );
});

Deno.test("createRedisSentinelClient: data-node and Sentinel passwords never show; a wrong master name fails clearly", async () => {
  await using deployment = await startRedisSentinel({
    replicas: 0,
    sentinels: 1,
    password: "data-S3cret",
    sentinelPassword: "sentinel-S3cret",
  });
  const sentinels = deployment.sentinelUrls;
  await using client = await createRedisSentinelClient(sentinels, {
    masterName: deployment.masterName,
    password: "data-S3cret",
  });
  assert.equal(await client.send(["PING"]), "PONG");
  for (
    const text of [
      String(client),
      JSON.stringify(client),
      Deno.inspect(client),
      client.master ?? "",
    ]
  ) {
    assert.ok(!text.includes("S3cret"), text);
  }
  const wrong = await createRedisSentinelClient(sentinels, {
    masterName: "nope",
    password: "data-S3cret",
    connectTimeoutMs: 500,
  }).catch((e) => e);
  assert.ok(wrong instanceof RedisConnectionError, String(wrong));
  assert.match(wrong.message, /No Sentinel .* named a master "nope"/);
  const texts = [wrong.message, wrong.stack, String(wrong.cause)];
  assert.ok(!texts.join(" ").includes("S3cret"), texts.join(" "));
  await assert.rejects(
    () => createRedisSentinelClient([], { masterName: "x" }),
    TypeError,
  );
});

Deno.test("waitReplicas: the cost of WAIT behind every write, printed", async () => {
  await using deployment = await startRedisSentinel({
    replicas: 1,
    sentinels: 1,
  });
  await using client = await createRedisClient(deployment.master.url);
  const figures: string[] = [];
  for (const waitReplicas of [0, 1]) {
    const storage = createRedisStorage(client, {
      keyPrefix: `w${waitReplicas}:`,
      waitReplicas,
      waitTimeoutMs: 1000,
    });
    const writes = 4000;
    const concurrency = 32;
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        const own = storage(`subject-${w}`);
        while (next < writes) {
          next++;
          const t = performance.now();
          await own.store({ updates: [new SubjectProperty("v", next)] });
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    assert.equal(latencies.length, writes);
    figures.push(
      `waitReplicas ${waitReplicas}: ${
        Math.round(writes / seconds)
      } stores/s, p50 ${latencies[writes >> 1].toFixed(2)} ms, p99 ${
        latencies[Math.floor(writes * 0.99)].toFixed(2)
      } ms`,
    );
  }
  for (const figure of figures) {
    reportFigures(
      `Cost of WAIT (1 replica on loopback, 32 concurrent stores), ${figure}`,
    );
  }
});

Deno.test("Sentinel client: with the master and every Sentinel gone, a call settles at its deadline with RedisConnectionError", async () => {
  await using fixture = await sentinelFixture({ replicas: 0, sentinels: 1 }, {
    commandTimeoutMs: 500,
  });
  const { deployment, client } = fixture;
  assert.equal(await client.send(["SET", "k", "v"]), "OK");
  await Promise.all([
    deployment.master.kill(),
    ...deployment.sentinels.map((s) => s.kill()),
  ]);
  const started = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, () => client.send(["GET", "k"])),
  );
  const elapsed = performance.now() - started;
  for (const result of results) {
    assert.equal(result.status, "rejected");
    const reason = (result as PromiseRejectedResult).reason;
    assert.ok(reason instanceof RedisConnectionError, String(reason));
  }
  assert.ok(elapsed < 1500, `took ${elapsed} ms`);
  // The next call, once a Sentinel and the master are back, succeeds.
  await deployment.master.restart();
  await Promise.all(deployment.sentinels.map((s) => s.restart()));
  let reply: unknown;
  for (let i = 0; i < 20 && reply === undefined; i++) {
    reply = await client.send(["PING"]).catch(() => undefined);
  }
  assert.equal(reply, "PONG");
});

/** Two standalone masters, both answering ROLE as master, and three fake Sentinels naming the first. */
async function splitFixture(): Promise<
  {
    a: RedisServer;
    b: RedisServer;
    fakes: FakeSentinel[];
    client: RedisSentinelClient;
  } & AsyncDisposable
> {
  const a = await startRedisServer();
  const b = await startRedisServer();
  const fakes = [0, 1, 2].map(() =>
    startFakeSentinel("mymaster", {
      masterPort: a.port,
      addressPort: a.port,
      epoch: 1,
      flags: "master",
    })
  );
  const stop = async () => {
    await Promise.all(fakes.map((f) => f[Symbol.asyncDispose]()));
    await Promise.all([a.stop(), b.stop()]);
  };
  try {
    const client = await createRedisSentinelClient(fakes.map((f) => f.url), {
      masterName: "mymaster",
      commandTimeoutMs: 500,
    });
    await Promise.all(fakes.map((f) => f.subscribed()));
    return {
      a,
      b,
      fakes,
      client,
      async [Symbol.asyncDispose]() {
        await client.close();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Resolves once the client shows `state` in its inspection. */
async function untilState(
  client: RedisSentinelClient,
  state: string,
): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (Deno.inspect(client).includes(`"state":"${state}"`)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`The client never showed state ${state}.`);
}

Deno.test("Sentinel client: when the Sentinels disagree, the newest configuration epoch names the master, not the most votes", async () => {
  await using fixture = await splitFixture();
  const { a, b, fakes } = fixture;
  // Two Sentinels have not heard of the failover the third one ran.
  fakes[2].view = {
    masterPort: b.port,
    addressPort: b.port,
    epoch: 2,
    flags: "master",
  };
  await using client = await createRedisSentinelClient(
    fakes.map((f) => f.url),
    { masterName: "mymaster" },
  );
  assert.equal(client.master, b.url);
  assert.equal(await client.send(["SET", "k", "v"]), "OK");
  await using onA = await createRedisClient(a.url);
  await using onB = await createRedisClient(b.url);
  assert.equal(await onB.send(["GET", "k"]), "v");
  assert.equal(await onA.send(["GET", "k"]), null);
});

Deno.test("Sentinel client: while a Sentinel promotes a replica, nothing reaches the old master; a held call rejects at its deadline as not executed", async () => {
  await using fixture = await splitFixture();
  const { a, b, fakes, client } = fixture;
  await using onA = await createRedisClient(a.url);
  await using onB = await createRedisClient(b.url);
  assert.equal(await client.send(["SET", "before", "1"]), "OK");
  assert.equal(await onA.send(["GET", "before"]), "1");
  fakes[0].view = { ...fakes[0].view, flags: "master,failover_in_progress" };
  fakes[0].publish("+try-failover", `master mymaster 127.0.0.1 ${a.port}`);
  await untilState(client, "failing over");
  // The failover outlasts the command's deadline (500 ms).
  const error = await client.send(["SET", "during", "1"]).catch((e) => e);
  assert.ok(error instanceof RedisTimeoutError, String(error));
  assert.equal(error.executed, "no");
  assert.match(
    error.message,
    /^SET was not executed: a failover of "mymaster"/,
  );
  assert.equal(await onA.send(["EXISTS", "during"]), 0);
  // The leader has promoted B and names it under a new epoch; the other
  // Sentinels have not caught up, and no +switch-master was heard.
  fakes[0].view = {
    masterPort: a.port,
    addressPort: b.port,
    epoch: 2,
    flags: "master,failover_in_progress",
  };
  assert.equal(await client.send(["SET", "after", "1"]), "OK");
  assert.equal(await onB.send(["GET", "after"]), "1");
  assert.equal(await onA.send(["EXISTS", "after"]), 0);
  assert.equal(client.master, b.url);
});

Deno.test("Sentinel client: once the Sentinels abort a failover, commands go to the master again", async () => {
  await using fixture = await splitFixture();
  const { a, fakes, client } = fixture;
  await using onA = await createRedisClient(a.url);
  fakes[1].view = { ...fakes[1].view, flags: "master,failover_in_progress" };
  fakes[1].publish("+try-failover", `master mymaster 127.0.0.1 ${a.port}`);
  await untilState(client, "failing over");
  const held = client.send(["SET", "k", "1"]);
  fakes[1].view = { ...fakes[1].view, flags: "master" };
  fakes[1].publish(
    "-failover-abort-not-elected",
    `master mymaster 127.0.0.1 ${a.port}`,
  );
  assert.equal(await held, "OK");
  assert.equal(await onA.send(["GET", "k"]), "1");
  await untilState(client, "open");
});

/**
 * A TCP proxy in front of a Sentinel that passes subscriptions through at
 * once but holds every other reply back by `delayMs`: a Sentinel whose
 * events arrive in time while its answers to queries come late.
 */
function slowAnswers(
  target: number,
  delayMs: number,
): { url: string } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const serve = async () => {
    for await (const client of listener) {
      const server = await Deno.connect({
        hostname: "127.0.0.1",
        port: target,
      });
      conns.push(client, server);
      let subscriber = false;
      const decoder = new TextDecoder();
      (async () => {
        for await (const chunk of client.readable) {
          subscriber ||= /SUBSCRIBE/i.test(decoder.decode(chunk));
          await server.write(chunk);
        }
      })().catch(() => {});
      (async () => {
        let last = Promise.resolve();
        for await (const chunk of server.readable) {
          const due = performance.now() + (subscriber ? 0 : delayMs);
          // In order, each chunk no earlier than its due time.
          last = last.then(async () => {
            const wait = due - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            await client.write(chunk);
          });
        }
      })().catch(() => {});
    }
  };
  const serving = serve().catch(() => {});
  return {
    url: `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed by its peer already.
        }
      }
      await serving;
    },
  };
}

Deno.test("Sentinel, graceful: while the Sentinel running the failover answers late, the other two's answers do not end the hold; no acknowledged increment is lost", async () => {
  await using deployment = await startRedisSentinel({
    replicas: 2,
    sentinels: 3,
  });
  // deployment.failover() asks the first Sentinel: the one that runs it.
  await using slow = slowAnswers(deployment.sentinels[0].port, 400);
  await using client = await createRedisSentinelClient(
    [slow.url, ...deployment.sentinelUrls.slice(1)],
    { masterName: deployment.masterName },
  );
  const load = startFailoverLoad(createRedisStorage(client));
  try {
    await load.succeeded(200);
    const promoted = await deployment.failover();
    await load.succeeded(200, performance.now());
    await load.stop();
    const { count, stored } = await finalState(client, 4);
    reportFigures(
      `Sentinel graceful failover, leader answering 400 ms late: caller errors ${
        JSON.stringify(load.errors)
      }; counter ${count}, ${load.increments} increments resolved`,
    );
    assert.equal(count, load.increments, "acknowledged increments were lost");
    assert.deepEqual(stored, load.lastStored);
    assert.equal(client.master, promoted.url);
  } finally {
    await load.stop();
  }
});
