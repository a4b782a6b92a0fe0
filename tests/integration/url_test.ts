import assert from "node:assert/strict";
import { createRedisClient } from "../../mod.ts";
import { parseRedisUrl, redactUrl } from "../../src/client/url.ts";

Deno.test("valid URLs parse to their endpoint", () => {
  const cases: [string, Partial<ReturnType<typeof parseRedisUrl>>][] = [
    ["redis://localhost", {
      hostname: "localhost",
      port: 6379,
      db: 0,
      tls: false,
    }],
    ["redis://localhost:6380/3", { port: 6380, db: 3 }],
    ["redis://127.0.0.1:6379/", { hostname: "127.0.0.1", db: 0 }],
    ["rediss://cache.example.com:6380/0", {
      tls: true,
      hostname: "cache.example.com",
    }],
    ["redis://[::1]:7000/2", { hostname: "::1", port: 7000, db: 2 }],
    ["redis://:only-pass@h", { username: undefined, password: "only-pass" }],
    ["redis://alice:p%40ss%3Aw0rd@h/1", {
      username: "alice",
      password: "p@ss:w0rd",
      db: 1,
    }],
  ];
  for (const [url, expected] of cases) {
    const parsed = parseRedisUrl(url);
    for (const [key, value] of Object.entries(expected)) {
      assert.equal(parsed[key as keyof typeof parsed], value, `${url} ${key}`);
    }
  }
});

Deno.test("redaction hides the password and keeps the rest", () => {
  assert.equal(
    parseRedisUrl("redis://u:secret@h:1/2").redacted,
    "redis://u:***@h:1/2",
  );
  assert.equal(redactUrl("redis://:secret@h"), "redis://:***@h");
  assert.equal(redactUrl("redis://h:1/0"), "redis://h:1/0");
  assert.ok(!redactUrl("redis://u:sec ret@h^/x").includes("sec ret"));
});

Deno.test("malformed URLs reject with TypeError before any connection attempt", async () => {
  // Every URL points at this listener; a connection attempt would show up here.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  let accepted = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      accepted++;
      conn.close();
    }
  })();
  const secret = "Sup3rSecret";
  const malformed = [
    "",
    "   ",
    `localhost:${port}`,
    `http://127.0.0.1:${port}`,
    `redis:127.0.0.1:${port}`,
    `redis://`,
    `redis://127.0.0.1:${port}/db1`,
    `redis://127.0.0.1:${port}/-1`,
    `redis://127.0.0.1:${port}/1/2`,
    `redis://127.0.0.1:70000`,
    `redis://127.0.0.1:${port}/0?timeout=5`,
    `redis://127.0.0.1:${port}/0#frag`,
    `redis://alice@127.0.0.1:${port}`,
    `redis://:${secret}@127.0.0.1:${port}/x`,
    `redis://[::1:${port}`,
    `redis://u:%E0%A4%A@127.0.0.1:${port}`,
  ];
  try {
    for (const url of malformed) {
      const error = await createRedisClient(url).then(
        () => assert.fail(`connected to ${url}`),
        (e) => e,
      );
      assert.ok(error instanceof TypeError, `${JSON.stringify(url)}: ${error}`);
      assert.ok(error.message.length > 20, error.message);
      assert.ok(!error.message.includes(secret), error.message);
    }
    assert.equal(accepted, 0);
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
});

Deno.test("invalid options reject with TypeError", async () => {
  for (
    const options of [
      { connectTimeoutMs: -1 },
      { commandTimeoutMs: NaN },
      { clientName: "has space" },
      { reconnect: { maxAttempts: 0 } },
      { tls: { caCerts: "not-an-array" as unknown as string[] } },
    ]
  ) {
    await assert.rejects(
      createRedisClient("redis://127.0.0.1:1", options),
      TypeError,
    );
  }
});
