/**
 * Concurrency guarantees, counted exactly: atomic store against a reader on
 * another connection, and compare-and-set increments from one connection,
 * several connections, and several OS processes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { SubjectProperty } from "../src/storage/property.ts";
import { createRedisStorage } from "../src/storage/redis_storage.ts";
import { KRules } from "../src/subject/krules.ts";
import { recording, startRedisFixture } from "./helpers_redis.ts";

const increment = (c: number | undefined) => (c ?? 0) + 1;

/** Asserts that the increments handed out exactly 1..n, each once, each from its predecessor. */
function assertExactIncrements(results: [unknown, unknown][], n: number): void {
  const values = results.map(([value, old]) => {
    assert.equal(value, ((old as number | undefined) ?? 0) + 1);
    return value as number;
  });
  assert.deepEqual(
    values.sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i + 1),
  );
}

Deno.test("store is atomic: a reader on another connection never sees half of any of 2,000 stores, with or without deletes", async () => {
  await using redis = await startRedisFixture();
  const reader = await redis.connect();
  const storage = createRedisStorage(redis.client, { keyPrefix: "app:" })(
    "pair",
  );
  // Large values keep each store on the wire for longer, giving the reader
  // more chances to land in the middle of one.
  const padding = "x".repeat(24 * 1024);
  let writing = true;
  let reads = 0;
  const seen = new Set<string | null>();
  const readLoop = (async () => {
    while (writing) {
      const [a, b] = await reader.send(["HMGET", "s:app:pair", "pa", "pb"]) as [
        string | null,
        string | null,
      ];
      reads++;
      assert.ok(
        a === b,
        `reader saw a=${a?.slice(0, 12)} b=${b?.slice(0, 12)}`,
      );
      seen.add(a);
    }
  })();
  try {
    for (let i = 0; i < 2000; i++) {
      const value = `${i}:${padding}`;
      // Alternate the two ways a store is written: sets alone are one HSET,
      // sets with deletes are one script. Both must be atomic.
      await storage.store({
        updates: [
          new SubjectProperty("a", value),
          new SubjectProperty("b", value),
        ],
        ...(i % 2 === 0
          ? { inserts: [new SubjectProperty("c", i)] }
          : { deletes: [new SubjectProperty("c")] }),
      });
    }
  } finally {
    writing = false;
    await readLoop;
  }
  assert.ok(
    reads >= 200,
    `the reader overlapped the writer only ${reads} times`,
  );
  assert.ok(
    seen.size >= 100,
    `the reader saw only ${seen.size} distinct stores`,
  );
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

Deno.test("function increments from 4 connections in one process, 250 concurrent each, end at exactly 1000", async () => {
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

Deno.test("8 OS processes × 250 function increments with useCache false end at exactly 2000, none lost or repeated", async () => {
  await using redis = await startRedisFixture();
  const worker = new URL("./helpers_increment_worker.ts", import.meta.url);
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
    const values: number[] = [];
    for (const [i, child] of children.entries()) {
      const status = await child.status;
      const rest: string[] = [];
      for await (const line of outputs[i].lines) rest.push(line);
      const stderr = await outputs[i].stderr;
      assert.equal(status.code, 0, `worker ${i} failed: ${stderr}`);
      const mine = JSON.parse(rest.join("")) as number[];
      assert.equal(mine.length, perProcess);
      values.push(...mine);
    }
    assert.deepEqual(
      values.sort((a, b) => a - b),
      Array.from({ length: processes * perProcess }, (_, i) => i + 1),
    );
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
