/**
 * Security: passwords never leave the client (not in errors, `url`,
 * `String()`, `Deno.inspect`, JSON, nor anything the module or the test logs),
 * and an ACL user limited to its tenant's keys and the storage's commands
 * can do all its work, and nothing else.
 *
 * Every error thrown in this file and every line logged while it runs is
 * collected and searched for the passwords.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  CorruptValueError,
  createRedisClient,
  createRedisStorage,
  KRules,
  loadRedisConfig,
  type RedisClient,
  RedisConnectionError,
  RedisReplyError,
  RedisTimeoutError,
} from "../../mod.ts";
import { SubjectExtProperty, SubjectProperty } from "../../storage.ts";
import { startRedisServer } from "../../src/testing/redis_server.ts";
import { makeCertificates, serverTls } from "../helpers/tls.ts";
import { closedPort } from "../../src/testing/closed_port.ts";

/** The default user's password; URL-special characters on purpose. */
const PASSWORD = "Sup3r/S3cr3t:p@ss%w0rd";
const TENANT_PASSWORD = "T3nantA-Pa55-q7";
/** What must never show: each password, encoded or not, and a telling part of it. */
const SECRETS = [
  PASSWORD,
  encodeURIComponent(PASSWORD),
  "S3cr3t",
  TENANT_PASSWORD,
];

/**
 * The least privilege the storage needs: its tenant's keys, and only the
 * commands it sends. EVAL/EVALSHA run the store, set and compare-and-set
 * scripts, whose inner HGET/HSET/HDEL calls are checked against the ACL too;
 * PING is the client's liveness check after a reconnect.
 */
const STORAGE_COMMANDS = [
  "hgetall",
  "hget",
  "hset",
  "hdel",
  "del",
  "eval",
  "evalsha",
  "ping",
];
function aclUser(
  name: string,
  password: string,
  tenant: string,
  commands: readonly string[],
): string {
  return `user ${name} on >${password} ~s:${tenant}:* resetchannels -@all ${
    commands.map((c) => `+${c}`).join(" ")
  }`;
}
const TENANT_A_ACL = aclUser(
  "tenantA",
  TENANT_PASSWORD,
  "tenantA",
  STORAGE_COMMANDS,
);

const p = (name: string, value?: unknown) => new SubjectProperty(name, value);
const e = (name: string, value?: unknown) =>
  new SubjectExtProperty(name, value);
const increment = (n: unknown) => (typeof n === "number" ? n : 0) + 1;

// ------------------------------------------------------------ leak tracking

const suiteErrors: unknown[] = [];
const suiteLogs: string[] = [];

/** Every text an error shows, its causes' included. */
function errorTexts(error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 5) return [String(error)];
  return [
    String(error),
    error.message,
    error.stack ?? "",
    Deno.inspect(error, { depth: 10, showHidden: true }),
    JSON.stringify(error),
    ...errorTexts(error.cause, depth + 1),
  ];
}

function assertNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) {
    assert.ok(!text.includes(secret), `${where} shows a password: ${text}`);
  }
}

/** Runs `promise`, which must reject, and records the error for the leak checks. */
async function failure(promise: unknown): Promise<Error> {
  const error = await (async () => await promise)().then(
    () => assert.fail("expected a rejection"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof Error, String(error));
  suiteErrors.push(error);
  // What an application would do with it.
  console.error("operation failed:", error);
  return error;
}

/**
 * A test during which everything logged through `console` is captured, and
 * after which that output and the errors it recorded are searched for the
 * passwords.
 */
function leakTest(name: string, fn: () => Promise<void>): void {
  leakCases.push({
    name,
    fn: async () => {
      const methods = ["log", "error", "warn", "info", "debug"] as const;
      const originals = methods.map((method) => console[method]);
      const logged: string[] = [];
      const errorsBefore = suiteErrors.length;
      for (const method of methods) {
        console[method] = (...args: unknown[]) => {
          logged.push(
            args.map((a) =>
              typeof a === "string" ? a : Deno.inspect(a, { depth: 10 })
            ).join(" "),
          );
        };
      }
      try {
        await fn();
      } finally {
        methods.forEach((method, i) => console[method] = originals[i]);
      }
      suiteLogs.push(...logged);
      for (const line of logged) assertNoSecret(line, "console output");
      for (const error of suiteErrors.slice(errorsBefore)) {
        for (const text of errorTexts(error)) assertNoSecret(text, "an error");
      }
    },
  });
}

/**
 * The cases run as steps of one test, in order, so the final check over
 * everything the suite provoked cannot be run without the cases it checks.
 */
const leakCases: { name: string; fn: () => Promise<void> }[] = [];

function withCredentials(url: string, user: string, password: string): string {
  return url.replace("://", `://${user}:${encodeURIComponent(password)}@`);
}

// -------------------------------------------------------------------- tests

leakTest(
  "the password shows in no error, url, String(), JSON, Deno.inspect or log line, whatever fails",
  async () => {
    await using server = await startRedisServer({
      config: [`requirepass ${PASSWORD}`],
    });
    const url = withCredentials(server.url, "", PASSWORD);
    await using client = await createRedisClient(url, {
      commandTimeoutMs: 200,
      reconnect: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    await client.send(["SET", "plain", "string"]);
    console.log("connected:", client, String(client), JSON.stringify(client));
    for (
      const text of [
        client.url,
        String(client),
        `${client}`,
        JSON.stringify(client),
        JSON.stringify({ client }),
        Deno.inspect(client),
        Deno.inspect(client, { showHidden: true, depth: 10, colors: true }),
        Deno.inspect({ nested: [client] }, { depth: 10 }),
      ]
    ) {
      assertNoSecret(text, "the client");
    }
    assert.equal(client.url, url.replace(encodeURIComponent(PASSWORD), "***"));

    // Refused credentials, as a string URL and as a URL object.
    const wrong = await failure(
      createRedisClient(withCredentials(server.url, "", `${PASSWORD}x`)),
    );
    assert.ok(wrong instanceof RedisReplyError && wrong.code === "WRONGPASS");
    await failure(
      createRedisClient(
        new URL(withCredentials(server.url, "default", "S3cr3t")),
      ),
    );
    // Malformed URLs carrying the password, straight and through the config.
    for (
      const bad of [`${url}/1`, `${url}?db=1`, url.replace("redis", "http")]
    ) {
      assert.ok(await failure(createRedisClient(bad)) instanceof TypeError);
    }
    await failure(
      Promise.resolve().then(() =>
        loadRedisConfig(new Map([["REDIS_URL", `${url}#x`]]))
      ),
    );
    // Nobody listening, and a peer that never answers the handshake.
    const freeUrl = url.replace(`:${server.port}/`, `:${await closedPort()}/`);
    assert.ok(
      await failure(createRedisClient(freeUrl)) instanceof RedisConnectionError,
    );
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of silent) accepted.push(conn);
    })();
    try {
      const silentUrl = url.replace(
        `:${server.port}/`,
        `:${silent.addr.port}/`,
      );
      await failure(createRedisClient(silentUrl, { connectTimeoutMs: 200 }));
    } finally {
      silent.close();
      await accepting;
      for (const conn of accepted) conn.close();
    }
    // Reply errors and storage errors on an authenticated client.
    await failure(client.send(["HGET", "plain", "f"]));
    // Arguments, the password among them, are never echoed in errors.
    await failure(client.send(["AUTH", "nobody", PASSWORD]));
    await client.send(["HSET", "s:app:s", "pbad", "{"]);
    const storage = createRedisStorage(client, { keyPrefix: "app:" });
    assert.ok(
      await failure(storage("s").load()) instanceof CorruptValueError,
    );
    await failure(storage("s").set(p("v", NaN)));
    // A failing event handler, which the module reports with console.error.
    const krules = new KRules({ storage });
    krules.eventBus.on("subject-property-changed", () => {
      throw new Error(`audit sink for ${client} refused the event`);
    });
    await krules.subject("t").set("n", 1, { useCache: false });
    // A stalled server, then a crash with commands in flight.
    server.pause();
    try {
      assert.ok(
        await failure(client.send(["GET", "plain"])) instanceof
          RedisTimeoutError,
      );
      const inFlight = failure(client.send(["GET", "plain"]));
      await server.kill();
      assert.ok(await inFlight instanceof RedisConnectionError);
    } finally {
      server.resume();
    }
    assert.ok(
      await failure(client.send(["PING"])) instanceof RedisConnectionError,
    );
    await client.close();
    await failure(client.send(["PING"]));
    console.log("closed:", client);
  },
);

leakTest(
  "TLS: a rediss:// URL with a password fails closed without the CA, and says so without the password",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "redis-subjects-sec-" });
    try {
      await makeCertificates(dir);
      await using server = await startRedisServer({
        tls: serverTls(dir),
        config: [`requirepass ${PASSWORD}`],
      });
      const url = withCredentials(server.url, "", PASSWORD);
      const error = await failure(createRedisClient(url));
      assert.ok(error instanceof RedisConnectionError);
      assert.match(error.message, /certificate|issuer/i);
      await using client = await createRedisClient(url, {
        tls: { caCerts: [await Deno.readTextFile(`${dir}/ca.crt`)] },
      });
      assert.equal(await client.send(["PING"]), "PONG");
      assertNoSecret(Deno.inspect(client), "a TLS client");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** Every storage and Subject operation once, on one tenant's subjects. */
async function tenantWork(
  client: RedisClient,
  tenant: string,
): Promise<void> {
  const storage = createRedisStorage(client, { keyPrefix: `${tenant}:` });
  const krules = new KRules({ storage });
  const user = krules.subject("user-1");
  await user.set("nick", "Ada");
  await user.setExt("tier", "gold");
  await user.store(); // HSET
  assert.deepEqual(await user.set("logins", increment, { useCache: false }), [
    1,
    undefined,
  ]); // HGET + EVAL (compare-and-set)
  assert.deepEqual(await user.set("logins", increment, { useCache: false }), [
    2,
    1,
  ]); // HGET + EVALSHA
  assert.deepEqual(await user.set("email", "a@x", { useCache: false }), [
    "a@x",
    undefined,
  ]); // EVAL (plain set)
  await storage("user-1").store({
    inserts: [p("seen", true)],
    deletes: [p("email")],
  }); // EVAL (store with deletes)
  await storage("user-1").store({
    inserts: [p("seen", 2)],
    deletes: [e("tier")],
  }); // EVALSHA
  assert.equal(await storage("user-1").get(p("logins")), 2); // HGET
  assert.deepEqual(await user.dict(), {
    name: "user-1",
    nick: "Ada",
    logins: 2,
    seen: 2,
    ext: {},
  }); // HGETALL
  await storage("user-1").delete(p("seen")); // HDEL
  await storage("user-1").store({ deletes: [p("nick")] }); // HDEL
  assert.deepEqual(await storage("user-1").getExtProps(), {}); // HGETALL
  await user.flush(); // HGETALL + DEL
  assert.deepEqual(await storage("user-1").load(), [{}, {}]);
}

leakTest(
  `ACL: a user with only ~s:tenantA:* and ${
    STORAGE_COMMANDS.join(" ")
  } does all its work, reconnects, and gets NOPERM for tenantB`,
  async () => {
    await using server = await startRedisServer({
      config: [`requirepass ${PASSWORD}`, TENANT_A_ACL],
    });
    await using admin = await createRedisClient(
      withCredentials(server.url, "", PASSWORD),
    );
    await using tenant = await createRedisClient(
      withCredentials(server.url, "tenantA", TENANT_PASSWORD),
      { reconnect: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 10 } },
    );
    await admin.send(["HSET", "s:tenantB:user-1", "pname", '"Bob"']);
    await tenantWork(tenant, "tenantA");

    // A reconnect re-authenticates and checks the server with PING.
    assert.equal(await admin.send(["CLIENT", "KILL", "USER", "tenantA"]), 1);
    await tenantWork(tenant, "tenantA");
    assert.equal(tenant.stats.reconnects, 1);

    const storage = createRedisStorage(tenant, { keyPrefix: "tenantB:" });
    const subject = new KRules({ storage }).subject("user-1");
    const denied = [
      () => storage("user-1").load(),
      () => storage("user-1").get(p("name")),
      () => storage("user-1").set(p("name", "Eve")),
      () => storage("user-1").set(p("name", () => "Eve")),
      () => storage("user-1").store({ inserts: [p("name", "Eve")] }),
      () =>
        storage("user-1").store({ inserts: [p("a", 1)], deletes: [p("name")] }),
      () => storage("user-1").delete(p("name")),
      () => storage("user-1").flush(),
      () => subject.get("name"),
      () => subject.set("n", increment, { useCache: false }),
      () => tenant.send(["KEYS", "*"]),
      () => tenant.send(["FLUSHALL"]),
      () => tenant.send(["CONFIG", "GET", "requirepass"]),
      () => tenant.send(["GET", "s:tenantA:user-1"]),
      () => tenant.send(["ACL", "WHOAMI"]),
    ];
    for (const [i, attempt] of denied.entries()) {
      const error = await failure(attempt());
      assert.ok(error instanceof RedisReplyError, `#${i}: ${error}`);
      assert.equal(error.code, "NOPERM", `#${i}: ${error.message}`);
    }
    // Lua gives no way around the key patterns.
    const escape = await failure(tenant.send([
      "EVAL",
      "return redis.call('HGETALL', 's:tenantB:user-1')",
      1,
      "s:tenantA:user-1",
    ]));
    assert.match(escape.message, /can't access at least one of the keys/);

    assert.deepEqual(await admin.send(["HGETALL", "s:tenantB:user-1"]), [
      "pname",
      '"Bob"',
    ]);
    await tenantWork(tenant, "tenantA");
  },
);

leakTest(
  "ACL: each of those commands is needed; without any one of them some storage operation is refused",
  async () => {
    const users = STORAGE_COMMANDS.map((missing) => ({
      missing,
      name: `without-${missing}`,
    }));
    await using server = await startRedisServer({
      config: [
        `requirepass ${PASSWORD}`,
        ...users.map(({ missing, name }) =>
          aclUser(
            name,
            TENANT_PASSWORD,
            "tenantA",
            STORAGE_COMMANDS.filter((c) => c !== missing),
          )
        ),
      ],
    });
    await using admin = await createRedisClient(
      withCredentials(server.url, "", PASSWORD),
    );
    for (const { missing, name } of users) {
      await admin.send(["FLUSHALL"]);
      const work = (async () => {
        // Without +ping the handshake itself is refused.
        await using client = await createRedisClient(
          withCredentials(server.url, name, TENANT_PASSWORD),
          { reconnect: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 } },
        );
        await tenantWork(client, "tenantA");
        await admin.send(["CLIENT", "KILL", "USER", name]);
        await tenantWork(client, "tenantA");
      })();
      const error = await failure(work);
      assert.ok(error instanceof RedisReplyError, `${missing}: ${error}`);
      assert.match(
        error.message,
        /NOPERM|can't run this command/,
        `without ${missing}: ${error.message}`,
      );
    }
  },
);

leakTest(
  "every error this suite provoked, and every line it logged, was checked, and covers each kind of failure",
  () => {
    const kinds = new Set(
      suiteErrors.map((error) =>
        error instanceof RedisReplyError
          ? `${error.name}:${error.code}`
          : (error as Error).name
      ),
    );
    for (
      const kind of [
        "TypeError",
        "RedisReplyError:WRONGPASS",
        "RedisReplyError:WRONGTYPE",
        "RedisReplyError:NOPERM",
        "RedisConnectionError",
        "RedisTimeoutError",
        "CorruptValueError",
        "InvalidValueError",
      ]
    ) {
      assert.ok(kinds.has(kind), `no ${kind} among ${[...kinds].join(", ")}`);
    }
    assert.ok(
      suiteLogs.some((line) => line.includes("An event handler")),
      "the module's own report of a failing handler was captured",
    );
    for (const error of suiteErrors) {
      for (const text of errorTexts(error)) assertNoSecret(text, "an error");
    }
    for (const line of suiteLogs) assertNoSecret(line, "console output");
    return Promise.resolve();
  },
);

Deno.test("security: no password leaks, whatever fails", async (t) => {
  for (const { name, fn } of leakCases) {
    assert.ok(await t.step(name, fn), `step failed: ${name}`);
  }
});
