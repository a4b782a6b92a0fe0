/**
 * Bad input to the client layer, as one table: malformed URLs, refused
 * credentials and databases, bad command arguments, and broken RESP from a
 * proxy that corrupts one reply of a real server. The storage layer's table
 * (values, names, corrupt fields, wrong key types) is in
 * `bad_input_storage_test.ts`.
 *
 * Every case runs against its own server and proves the same four things:
 * the error is typed and says what went wrong, nothing was written, the
 * password never shows, and the very client that was in use then serves a
 * valid call.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  createRedisStorage,
  KRules,
  loadRedisConfig,
  RedisClient,
  RedisConnectionError,
  RedisReplyError,
  RedisUnexpectedReplyError,
  type StorageFactory,
} from "../../mod.ts";
import {
  type Property,
  SubjectExtProperty,
  SubjectProperty,
} from "../../storage.ts";
import { startRedisServer } from "../../src/testing/redis_server.ts";

const PASSWORD = "b4d-input-Pa55";
const PREFIX = "bad:";
/** Larger than the servers' `proto-max-bulk-len` below. */
const OVER_LIMIT = 1024 * 1024 + 1;
const SERVER_CONFIG = [`requirepass ${PASSWORD}`, "proto-max-bulk-len 1mb"];

const p = (name: string, value?: unknown): Property =>
  new SubjectProperty(name, value);
const e = (name: string, value?: unknown): Property =>
  new SubjectExtProperty(name, value);

/** What a case works with. */
interface Context {
  /** `redis://:PASSWORD@127.0.0.1:PORT/0` of the case's server. */
  readonly url: string;
  /** The client under test: straight to the server, or through the proxy. */
  readonly client: RedisClient;
  /** Storage with the key prefix `bad:` on `client`. */
  readonly storage: StorageFactory;
}

type Layer = "url" | "client" | "resp";

interface Case {
  readonly layer: Layer;
  readonly name: string;
  /** Raw writes that create the bad state; part of the "before" snapshot. */
  readonly setup?: (raw: RedisClient) => Promise<unknown>;
  /** For `resp` cases: what the proxy answers instead of the server. */
  readonly reply?: { readonly bytes: string; readonly close: boolean };
  readonly act: (ctx: Context) => unknown;
  /** The error's class, and a pattern its message must match. */
  readonly error: abstract new (...args: never[]) => Error;
  readonly message: RegExp;
  /** More checks on the error. */
  readonly check?: (error: never) => void;
}

const code = (expected: string) => (error: RedisReplyError) =>
  assert.equal(error.code, expected);

/**
 * A reply of the wrong shape is the peer's fault, not the caller's: not a
 * `TypeError`, and since the command ran, not known to be without effect.
 */
const unexpected =
  (command: string, reply: unknown) => (error: RedisUnexpectedReplyError) => {
    assert.ok(!(error instanceof TypeError), "not the caller's mistake");
    assert.equal(error.command, command);
    assert.deepEqual(error.reply, reply);
    assert.equal(error.executed, "maybe");
  };

// ---------------------------------------------------------------- URL layer

/** Every URL points at the case's server, so a connection attempt would show. */
const urlCases = (
  [
    ["an empty URL", () => "", /empty/],
    [
      "a URL of another scheme",
      (port) => `http://127.0.0.1:${port}`,
      /scheme "http:"/,
    ],
    ["a URL without //", (port) => `redis:127.0.0.1:${port}`, /lacks "\/\/"/],
    ["a URL without a host", () => "redis://", /has no host|not a valid URL/],
    [
      "a database path that is not a number",
      (port) => `redis://:${PASSWORD}@127.0.0.1:${port}/db1`,
      /database number/,
    ],
    [
      "a port past 65535",
      () => "redis://127.0.0.1:70000/0",
      /not a valid URL|port/,
    ],
    [
      "a query string",
      (port) => `redis://127.0.0.1:${port}/0?ssl=true`,
      /query string/,
    ],
    [
      "a user without a password",
      (port) => `redis://alice@127.0.0.1:${port}/0`,
      /no password/,
    ],
    [
      "a badly percent-encoded password",
      (port) => `redis://u:%E0%A4%A@127.0.0.1:${port}/0`,
      /percent-encoded password/,
    ],
  ] satisfies [string, (port: number) => string, RegExp][]
).map(([name, url, message]): Case => ({
  layer: "url",
  name,
  act: (ctx) => createRedisClient(url(Number(new URL(ctx.url).port))),
  error: TypeError,
  message,
}));

urlCases.push(
  {
    layer: "url",
    name: "a malformed URL given to the lazy constructor",
    act: (ctx) => new RedisClient(ctx.url.replace("/0", "/0/1")),
    error: TypeError,
    message: /path "\/0\/1"/,
  },
  {
    layer: "url",
    name: "a malformed REDIS_URL in loadRedisConfig",
    act: (ctx) =>
      loadRedisConfig(
        new Map([["REDIS_URL", ctx.url.replace("redis", "rdis")]]),
      ),
    error: TypeError,
    message: /^REDIS_URL is invalid: .*scheme "rdis:"/,
  },
);

// ------------------------------------------------------------- client layer

const clientCases: Case[] = [
  {
    layer: "client",
    name: "a wrong password",
    act: (ctx) => createRedisClient(ctx.url.replace(PASSWORD, "not-it")),
    error: RedisReplyError,
    message: /^AUTH failed on redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: WRONGPASS/,
    check: code("WRONGPASS"),
  },
  {
    layer: "client",
    name: "an unknown user",
    act: (ctx) => createRedisClient(ctx.url.replace("//:", "//nobody:")),
    error: RedisReplyError,
    message: /^AUTH failed on redis:\/\/nobody:\*\*\*@.*WRONGPASS/,
    check: code("WRONGPASS"),
  },
  {
    layer: "client",
    name: "no password for a server that requires one",
    act: async (ctx) => {
      await using anonymous = new RedisClient(
        ctx.url.replace(`:${PASSWORD}@`, ""),
      );
      await anonymous.send(["SET", "anonymous", "1"]);
    },
    error: RedisReplyError,
    // The handshake's PING notices at connect time, before SET is sent.
    message:
      /^PING failed on redis:\/\/127\.0\.0\.1:\d+\/0 \(the server requires a password; put the password in the URL: redis:\/\/:password@host\): NOAUTH Authentication required\.$/,
    check: code("NOAUTH"),
  },
  {
    layer: "client",
    name: "an unknown database index",
    act: (ctx) => createRedisClient(ctx.url.replace(/\/0$/, "/99")),
    error: RedisReplyError,
    message: /^SELECT failed on .*: ERR DB index is out of range/,
    check: code("ERR"),
  },
  {
    layer: "client",
    name: "a negative connect timeout",
    act: (ctx) => createRedisClient(ctx.url, { connectTimeoutMs: -1 }),
    error: TypeError,
    message: /connectTimeoutMs must be a number ≥ 1, got -1/,
  },
  {
    layer: "client",
    name: "a client name with a space",
    act: (ctx) => createRedisClient(ctx.url, { clientName: "my worker" }),
    error: TypeError,
    message: /clientName must be printable ASCII without spaces/,
  },
  {
    layer: "client",
    name: "an argument that is Infinity",
    act: (ctx) => ctx.client.send(["SET", "k", Infinity]),
    error: TypeError,
    message: /argument 2 is Infinity; numbers must be finite/,
  },
  {
    layer: "client",
    name: "an argument that is an object",
    act: (ctx) => ctx.client.send(["SET", "k", {} as unknown as string]),
    error: TypeError,
    message: /argument 2/,
  },
  {
    layer: "client",
    name: "an empty command",
    act: (ctx) => ctx.client.send([]),
    error: TypeError,
    message: /needs at least its name/,
  },
  {
    layer: "client",
    name: "an unknown command",
    act: (ctx) => ctx.client.send(["HSETALL", "k", "f", "v"]),
    error: RedisReplyError,
    message: /^ERR unknown command 'HSETALL'.*\(command: HSETALL\)$/,
    check: code("ERR"),
  },
  {
    layer: "client",
    name: "a command with the wrong number of arguments",
    act: (ctx) => ctx.client.send(["HSET", `s:${PREFIX}s`, "pdangling"]),
    error: RedisReplyError,
    message: /wrong number of arguments for 'hset' command/,
    check: code("ERR"),
  },
  {
    layer: "client",
    name: "an argument past proto-max-bulk-len",
    act: (ctx) => ctx.client.send(["SET", "big", "x".repeat(OVER_LIMIT)]),
    error: RedisReplyError,
    message: /Protocol error: invalid bulk length \(command: SET\)/,
    check: code("ERR"),
  },
  {
    layer: "client",
    name: "a command on a closed client",
    act: async (ctx) => {
      const closed = await createRedisClient(ctx.url);
      await closed.close();
      await closed.send(["SET", "k", "v"]);
    },
    error: RedisConnectionError,
    message:
      /^The client for redis:\/\/:\*\*\*@.* is closed; create a new one\.$/,
  },
];

// --------------------------------------------------------------- RESP layer

/** Broken or unexpected replies, sent by the proxy in place of the server's. */
const respCases: Case[] = [
  {
    layer: "resp",
    name: "an unknown type byte",
    reply: { bytes: "!boom\r\n", close: false },
    act: (ctx) => ctx.storage("s").get(p("keep")),
    error: RedisConnectionError,
    message: /sent an invalid reply .*; the connection was dropped/,
  },
  {
    layer: "resp",
    name: "a bulk string without its CRLF",
    reply: { bytes: "$3\r\nabcXY", close: false },
    act: (ctx) => ctx.storage("s").load(),
    error: RedisConnectionError,
    message: /sent an invalid reply/,
  },
  {
    layer: "resp",
    name: "a truncated bulk string, then a close",
    reply: { bytes: "$10\r\nabc", close: true },
    act: (ctx) => ctx.storage("s").get(p("keep")),
    error: RedisConnectionError,
    message: /closed the connection|reset/,
  },
  {
    layer: "resp",
    name: "a close in the middle of an array",
    reply: { bytes: "*4\r\n$5\r\npkeep\r\n", close: true },
    act: (ctx) => ctx.storage("s").load(),
    error: RedisConnectionError,
    message: /closed the connection|reset/,
  },
  {
    layer: "resp",
    name: "an integer where HGETALL returns a hash",
    reply: { bytes: ":5\r\n", close: false },
    act: (ctx) => ctx.storage("s").load(),
    error: RedisUnexpectedReplyError,
    message: /^Unexpected reply to HGETALL: 5$/,
    check: unexpected("HGETALL", 5),
  },
  {
    layer: "resp",
    name: "an odd-length array where HGETALL returns a hash",
    reply: { bytes: "*1\r\n$5\r\npkeep\r\n", close: false },
    act: (ctx) => new KRules({ storage: ctx.storage }).subject("s").get("keep"),
    error: RedisUnexpectedReplyError,
    message: /^Unexpected reply to HGETALL: \["pkeep"\]$/,
    check: unexpected("HGETALL", ["pkeep"]),
  },
  {
    layer: "resp",
    name: "an array where HGET returns a string",
    reply: { bytes: "*0\r\n", close: false },
    act: (ctx) => ctx.storage("s").get(p("keep")),
    error: RedisUnexpectedReplyError,
    message: /^Unexpected reply to HGET: \[\]$/,
    check: unexpected("HGET", []),
  },
  {
    layer: "resp",
    name: "an array where a function set's HGET returns a string",
    reply: { bytes: "*0\r\n", close: false },
    act: (ctx) =>
      ctx.storage("s").set(p("keep", (n: unknown) => Number(n) + 1)),
    error: RedisUnexpectedReplyError,
    message: /Unexpected reply to HGET: \[\]/,
    check: unexpected("HGET", []),
  },
  {
    layer: "resp",
    name: "a string where PTTL returns a number",
    reply: { bytes: "+soon\r\n", close: false },
    act: (ctx) => ctx.storage("s").ttl!(),
    error: RedisUnexpectedReplyError,
    message: /Unexpected reply to PTTL: "soon"/,
    check: unexpected("PTTL", "soon"),
  },
];

const CASES: readonly Case[] = [
  ...urlCases,
  ...clientCases,
  ...respCases,
];

// ------------------------------------------------------------------- runner

/**
 * A TCP proxy in front of a real server that passes everything through,
 * except that once armed it answers the client's next write itself with
 * `bytes` (the server never sees that command), and then closes the
 * connection if told to.
 */
function startProxy(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const pumps: Promise<void>[] = [];
  let armed: { bytes: string; close: boolean } | undefined;
  const close = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // Closed by the other direction already.
    }
  };
  const pump = async (
    from: Deno.Conn,
    to: Deno.Conn,
    intercept: boolean,
  ) => {
    const buf = new Uint8Array(256 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        if (intercept && armed !== undefined) {
          const { bytes, close: hangUp } = armed;
          armed = undefined;
          await from.write(new TextEncoder().encode(bytes));
          if (hangUp) break;
          continue;
        }
        for (let sent = 0; sent < n;) {
          sent += await to.write(buf.subarray(sent, n));
        }
      }
    } catch {
      // One side went away; the finally below takes down the other.
    } finally {
      close(from);
      close(to);
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      open.add(upstream);
      pumps.push(pump(conn, upstream, true), pump(upstream, conn, false));
    }
  })();
  return {
    url: `redis://:${PASSWORD}@127.0.0.1:${listener.addr.port}/0`,
    arm(reply: { bytes: string; close: boolean }) {
      armed = reply;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of [...open]) close(conn);
      await Promise.all(pumps);
    },
  };
}

/** Every key with its DUMP, to prove a failed call changed nothing. */
async function snapshot(raw: RedisClient): Promise<unknown[]> {
  const keys = (await raw.send(["KEYS", "*"]) as string[]).sort();
  return await Promise.all(
    keys.map(async (key) => [key, await raw.send(["DUMP", key])]),
  );
}

async function connectionsReceived(raw: RedisClient): Promise<number> {
  const info = String(await raw.send(["INFO", "stats"]));
  return Number(info.match(/total_connections_received:(\d+)/)?.[1]);
}

for (const testCase of CASES) {
  Deno.test(`bad input (${testCase.layer}): ${testCase.name} → ${testCase.error.name}, nothing written, the same client goes on`, async () => {
    await using server = await startRedisServer({ config: SERVER_CONFIG });
    const url = server.url.replace("redis://", `redis://:${PASSWORD}@`);
    await using raw = await createRedisClient(url);
    await using proxy = testCase.layer === "resp"
      ? await startProxy(server.port)
      : undefined;
    await using proxied = proxy === undefined
      ? undefined
      : await createRedisClient(proxy.url, {
        reconnect: { baseDelayMs: 1, maxDelayMs: 10 },
      });
    const client = proxied ?? raw;
    const ctx: Context = {
      url,
      client,
      storage: createRedisStorage(client, { keyPrefix: PREFIX }),
    };
    await ctx.storage("s").store({ inserts: [p("keep", 1), e("ext", "x")] });
    await testCase.setup?.(raw);
    const before = await snapshot(raw);
    const connections = await connectionsReceived(raw);
    const commands = client.stats.commands;
    if (testCase.reply !== undefined) proxy?.arm(testCase.reply);

    const error = await (async () => await testCase.act(ctx))().then(
      () => assert.fail("the bad input was accepted"),
      (error: unknown) => error,
    );

    if (testCase.layer === "client" && error instanceof TypeError) {
      assert.equal(client.stats.commands, commands, "nothing sent");
    }
    assert.ok(error instanceof testCase.error, `${error}`);
    assert.ok(error.message.length >= 20, `unclear: ${error.message}`);
    assert.match(error.message, testCase.message);
    assert.ok(!Deno.inspect(error).includes(PASSWORD), "password leaked");
    testCase.check?.(error as never);
    assert.deepEqual(await snapshot(raw), before, "nothing written");
    if (testCase.layer === "url") {
      assert.equal(await connectionsReceived(raw), connections);
    }

    assert.deepEqual(await ctx.storage("s").get(p("keep")), 1);
    assert.deepEqual(await ctx.storage("after").set(p("ok", true)), [
      true,
      undefined,
    ]);
    assert.deepEqual(await ctx.storage("after").load(), [{ ok: true }, {}]);
  });
}
