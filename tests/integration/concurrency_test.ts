/**
 * Concurrency guarantees, counted exactly: atomic store against readers on
 * other connections, and compare-and-set increments from one connection,
 * several connections, several OS processes and several cluster clients,
 * each checked by the `[new, old]` pairs the callers got; and `store()`s
 * begun all at once, sent a group an event-loop turn.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  type RedisClient,
} from "../../src/client/client.ts";
import { SubjectProperty } from "../../src/storage/property.ts";
import type { StoreChanges } from "../../src/storage/types.ts";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import { KRules } from "../../src/subject/krules.ts";
import { recording, startRedisFixture } from "../helpers/redis.ts";
import { nextTurn } from "../helpers/turns.ts";
import { CLUSTER_CLIENTS } from "../helpers/clients.ts";
import { startRedisCluster } from "../../testing.ts";

const increment = (c: number | undefined) => (c ?? 0) + 1;

/**
 * Asserts what n increments from 0 must have handed out: each caller its own
 * step, `[old + 1, old]`, with the old values exactly 0..n-1 (an absent
 * counter counts as 0), so no two callers computed from the same value.
 */
function assertExactIncrements(results: [unknown, unknown][], n: number): void {
  assert.equal(results.length, n);
  const olds = results.map(([value, old]) => {
    const from = (old as number | undefined) ?? 0;
    assert.equal(value, from + 1, `[${value}, ${old}] is not one step`);
    return from;
  });
  assert.deepEqual(
    olds.sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i),
  );
}

// --- Atomic store: a reader that checks every field of the hash. ---

/**
 * Over 32 KB: Redis reads an argument this long up to its exact end and runs
 * the command before it reads the next one, over several turns of its event
 * loop, in which other clients' commands run. So a store split into several
 * commands, whichever they are, can be seen half done.
 */
const BIG = 33 * 1024;
/** Fields every store rewrites, beside the EVEN or ODD flag. */
const FIELDS = ["a", "b"];
/** Flag names as long as BIG, so that deleting one spans several turns too. */
const EVEN = "e".repeat(BIG);
const ODD = "o".repeat(BIG);
/** Store `i` writes this value everywhere: its length says which store. */
const valueOf = (i: number) => "x".repeat(BIG + i);

/**
 * Reads the hash in one atomic step and answers, for every field a store
 * touches, the length of its stored JSON (0 when absent), then the number of
 * fields, so that no field, set or deleted, goes unchecked. Lengths keep the
 * reply small, so that the readers go round fast.
 */
const READ_STATE = `
local lengths = {}
for i, field in ipairs(ARGV) do
  lengths[i] = redis.call('HSTRLEN', KEYS[1], field)
end
lengths[#ARGV + 1] = redis.call('HLEN', KEYS[1])
return lengths`;
const STATE_FIELDS = [...FIELDS.map((f) => `p${f}`), `p${EVEN}`, `p${ODD}`];

/**
 * What READ_STATE answers after store `i` (store 0 seeds the hash): every
 * field of FIELDS holds store i's value; store i sets EVEN or ODD and, on the
 * mixed path, deletes the other one.
 */
function stateAfter(i: number, mixed: boolean): number[] {
  const length = (store: number) => valueOf(store).length + 2; // JSON quotes
  const even = i % 2 === 0 ? length(i) : mixed ? 0 : length(i - 1);
  const odd = i % 2 === 1 ? length(i) : mixed || i === 0 ? 0 : length(i - 1);
  const fields = FIELDS.map(() => length(i));
  return [
    ...fields,
    even,
    odd,
    fields.length + (even > 0 ? 1 : 0) + (odd > 0 ? 1 : 0),
  ];
}

function storeNumber(i: number, mixed: boolean): StoreChanges {
  const value = valueOf(i);
  return {
    updates: FIELDS.map((field) => new SubjectProperty(field, value)),
    inserts: [new SubjectProperty(i % 2 === 0 ? EVEN : ODD, value)],
    ...(mixed
      ? { deletes: [new SubjectProperty(i % 2 === 0 ? ODD : EVEN)] }
      : {}),
  };
}

for (const mixed of [false, true]) {
  const path = mixed ? "sets and deletes" : "sets only";
  Deno.test(`store is atomic (${path}): readers on other connections see every field as it was before or after each of 100 stores, never a mix`, async () => {
    await using redis = await startRedisFixture();
    const readers = await Promise.all([1, 2].map(() => redis.connect()));
    const storage = createRedisStorage(redis.client, { keyPrefix: "app:" })(
      "many",
    );
    await storage.store(storeNumber(0, mixed));
    let writing = true;
    let failure: unknown;
    let reads = 0;
    const seen = new Set<number>();
    const readLoop = async (reader: RedisClient) => {
      try {
        while (writing) {
          const state = await reader.send(
            ["EVAL", READ_STATE, 1, "s:app:many", ...STATE_FIELDS],
          ) as number[];
          reads++;
          const i = state[0] - BIG - 2;
          assert.deepEqual(
            state,
            stateAfter(i, mixed),
            `a reader saw a mix of stores around store ${i}`,
          );
          seen.add(i);
        }
      } catch (error) {
        failure ??= error;
        writing = false;
      }
    };
    // Several reads in flight on each connection, so that one is waiting at
    // the server whenever it turns to that connection.
    const reading = readers.flatMap((reader) => [reader, reader])
      .map(readLoop);
    try {
      for (let i = 1; writing && i <= 100; i++) {
        await storage.store(storeNumber(i, mixed));
      }
    } finally {
      writing = false;
      await Promise.all(reading);
    }
    if (failure !== undefined) throw failure;
    const [props] = await storage.load();
    assert.deepEqual(
      Object.keys(props).sort(),
      [...FIELDS, EVEN, ...mixed ? [] : [ODD]].sort(),
    );
    assert.equal(props[EVEN], valueOf(100));
    assert.ok(reads >= 100, `the readers overlapped the writer ${reads} times`);
    assert.ok(seen.size >= 30, `the readers saw ${seen.size} distinct stores`);
  });
}

/**
 * Commands a reader queues at the server before each store: over 1 MB, which
 * Redis reads 16 KB a turn of its event loop, running the commands of each
 * read in that turn, so some run in every turn of the store's.
 */
const QUEUED_READS = 30_000;

Deno.test("store is atomic (sets and deletes): a reader whose commands are queued at the server throughout a store never sees its sets without its deletes", async () => {
  await using redis = await startRedisFixture();
  // Its own client: the queued reads exceed the default maxPendingCommands.
  const reader = await createRedisClient(redis.server.url, {
    maxPendingCommands: QUEUED_READS,
  });
  try {
    const storage = createRedisStorage(redis.client, { keyPrefix: "app:" })(
      "many",
    );
    await storage.store(storeNumber(0, true));
    const key = "s:app:many";
    // Before and after every store the hash holds FIELDS and one flag. Store
    // i's flag is set by the end of its last BIG value, which Redis runs
    // before it reads any further; the other flag's name is BIG too, so its
    // delete, sent apart, would run turns later, with reads between.
    const fields = FIELDS.length + 1;
    const STORES = 20;
    let straddled = 0;
    for (let i = 1; i <= STORES; i++) {
      const reads: Promise<unknown>[] = [];
      for (let r = 0; r < QUEUED_READS; r++) {
        reads.push(
          reader.send(r % 2 === 0 ? ["HLEN", key] : ["HSTRLEN", key, "pa"]),
        );
      }
      await storage.store(storeNumber(i, true));
      const replies = await Promise.all(reads);
      const counts = replies.filter((_, r) => r % 2 === 0);
      const mixed = counts.filter((count) => count !== fields).length;
      assert.equal(
        mixed,
        0,
        `${mixed} reads saw store ${i}'s new flag beside the one it deletes`,
      );
      // Which store the field a holds: the reads began before store i and
      // ended after it, so they covered every turn it took.
      const lengths = replies.filter((_, r) => r % 2 === 1);
      const length = (store: number) => valueOf(store).length + 2;
      if (lengths[0] === length(i - 1) && lengths.at(-1) === length(i)) {
        straddled++;
      }
    }
    assert.ok(straddled > 0, "no store ran while the reads were queued");
  } finally {
    await reader.close();
  }
});

Deno.test("500 concurrent function increments over one connection end at exactly 500, each caller getting its own [new, old]", async () => {
  await using redis = await startRedisFixture();
  const krules = new KRules({ storage: createRedisStorage(redis.client) });
  const subject = krules.subject("counter");
  const results = await Promise.all(
    Array.from(
      { length: 500 },
      () => subject.set("n", increment, { useCache: false }),
    ),
  );
  assertExactIncrements(results, 500);
  assert.equal(await krules.subject("counter").get("n"), 500);
});

Deno.test("concurrent function sets of one property through one client are combined into a handful of round trips", async () => {
  await using redis = await startRedisFixture();
  const port = recording(redis.client);
  // Two factories and many storage instances: combining is per client, not per instance.
  const factories = [createRedisStorage(port), createRedisStorage(port)];
  const results = await Promise.all(
    Array.from(
      { length: 500 },
      (_, i) =>
        factories[i % 2]("counter").set(new SubjectProperty("n", increment)),
    ),
  );
  assertExactIncrements(results, 500);
  const roundTrips = port.log.length;
  assert.ok(roundTrips <= 10, `500 increments took ${roundTrips} round trips`);
});

Deno.test("function increments from 4 connections in one process, 250 concurrent each: the old values the callers got are exactly 0..999, each with its own step", async () => {
  await using redis = await startRedisFixture();
  const clients = [
    redis.client,
    ...await Promise.all([1, 2, 3].map(() => redis.connect())),
  ];
  const results = await Promise.all(clients.flatMap((client) => {
    const subject = new KRules({ storage: createRedisStorage(client) }).subject(
      "counter",
    );
    return Array.from(
      { length: 250 },
      () => subject.set("n", increment, { useCache: false }),
    );
  }));
  assertExactIncrements(results, 1000);
  assert.equal(await redis.client.send(["HGET", "s:counter", "pn"]), "1000");
});

Deno.test("40 subjects of one name over 4 connections, each 5 cached function increments and one store(): the count is exactly 200", async () => {
  await using redis = await startRedisFixture();
  const clients = [
    redis.client,
    ...await Promise.all([1, 2, 3].map(() => redis.connect())),
  ];
  const krules = clients.map((client) =>
    new KRules({ storage: createRedisStorage(client) })
  );
  await Promise.all(Array.from({ length: 40 }, async (_, i) => {
    const subject = krules[i % krules.length].subject("counter");
    for (let k = 0; k < 5; k++) await subject.set("n", increment);
    await subject.store();
  }));
  assert.equal(await redis.client.send(["HGET", "s:counter", "pn"]), "200");
});

Deno.test("8 OS processes × 250 function increments with useCache false: the old values the callers got are exactly 0..1999, each with its own step", async () => {
  await using redis = await startRedisFixture();
  const worker = new URL("../helpers/increment_worker.ts", import.meta.url);
  const processes = 8;
  const perProcess = 250;
  const children = Array.from(
    { length: processes },
    () =>
      // By name, as `--allow-run=deno` grants; the running binary's own path
      // differs between installs.
      new Deno.Command("deno", {
        args: [
          "run",
          "--quiet",
          "--allow-net=127.0.0.1",
          worker.href,
          redis.server.url,
          "app:",
          "counter",
          String(perProcess),
          "5",
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn(),
  );
  const outputs = children.map((child) => ({
    lines: lines(child.stdout),
    stderr: new Response(child.stderr).text(),
  }));
  try {
    // All connected before any starts, so that they really contend.
    for (const [i, output] of outputs.entries()) {
      const first = await output.lines.next();
      if (first.value !== "ready") {
        assert.fail(`worker ${i} did not start: ${await output.stderr}`);
      }
    }
    await Promise.all(children.map(async (child) => {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
    }));
    const pairs: [unknown, unknown][] = [];
    for (const [i, child] of children.entries()) {
      const status = await child.status;
      const rest: string[] = [];
      for await (const line of outputs[i].lines) rest.push(line);
      const stderr = await outputs[i].stderr;
      assert.equal(status.code, 0, `worker ${i} failed: ${stderr}`);
      const mine = JSON.parse(rest.join("")) as [unknown, unknown][];
      assert.equal(mine.length, perProcess);
      pairs.push(...mine);
    }
    assertExactIncrements(pairs, processes * perProcess);
    assert.equal(
      await redis.client.send(["HGET", "s:app:counter", "pcounter"]),
      String(processes * perProcess),
    );
  } finally {
    for (const child of children) {
      try {
        child.kill();
      } catch {
        // Already exited, which is the normal case.
      }
    }
    await Promise.all(children.map(async (child, i) => {
      await child.status;
      for await (const _ of outputs[i].lines) { /* drain */ }
      await outputs[i].stderr;
    }));
  }
});

for (const kind of CLUSTER_CLIENTS) {
  Deno.test(`${kind.name}: 4 clients × 250 concurrent function increments of one property: the old values the callers got are exactly 0..999, each with its own step`, async () => {
    await using cluster = await startRedisCluster({ masters: 3 });
    const fixtures = await Promise.all(
      Array.from({ length: 4 }, () => kind.open(cluster.urls)),
    );
    try {
      const increment = (n: unknown) => (typeof n === "number" ? n : 0) + 1;
      const results = await Promise.all(
        fixtures.flatMap((fixture) => {
          const krules = new KRules({
            storage: createRedisStorage(fixture.client),
          });
          return Array.from(
            { length: 250 },
            () =>
              krules.subject("hot").set("count", increment, {
                useCache: false,
              }),
          );
        }),
      );
      assertExactIncrements(results, 1000);
      const krules = new KRules({
        storage: createRedisStorage(fixtures[0].client),
      });
      assert.equal(await krules.subject("hot").get("count"), 1000);
    } finally {
      for (const fixture of fixtures) await fixture[Symbol.asyncDispose]();
    }
  });
}

async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string, void, void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n")) !== -1) {
      yield buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
    }
  }
  if (buffer !== "") yield buffer;
}

Deno.test("store()s begun all at once go 64 an event-loop turn, every one written", async () => {
  await using redis = await startRedisFixture();
  // A turn counter started first, so that it counts each turn before the
  // stores of that turn are sent.
  let turn = 0;
  let ticking = true;
  const ticker = (async () => {
    while (ticking) {
      await nextTurn();
      turn++;
    }
  })();
  const turns: number[] = [];
  const port = recording(redis.client, (args) => {
    if (args[0] === "HSET") turns.push(turn);
  });
  const krules = new KRules({ storage: createRedisStorage(port) });
  const first = turn;
  await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const subject = krules.subject(`u${i}`);
      await subject.setMany({ i });
      await subject.store();
    }),
  );
  ticking = false;
  await ticker;
  const perTurn = new Map<number, number>();
  for (const t of turns) {
    perTurn.set(t - first, (perTurn.get(t - first) ?? 0) + 1);
  }
  assert.deepEqual([...perTurn], [[0, 64], [1, 64], [2, 64], [3, 8]]);
  for (let i = 0; i < 200; i++) {
    assert.equal(await redis.client.send(["HGET", `s:u${i}`, "pi"]), String(i));
  }
});
