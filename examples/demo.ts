/**
 * `deno task demo`: a subject's life on Redis, in a dozen lines of output.
 *
 * Uses `REDIS_URL` when it is set (under `REDIS_KEY_PREFIX`, with a subject
 * name of its own that it deletes at the end); otherwise it starts a
 * throwaway `redis-server` on a free port and stops it afterwards.
 *
 * @module
 */

import {
  createRedisClient,
  createRedisStorage,
  KRules,
  loadRedisConfig,
  type RedisClient,
} from "../mod.ts";
import { type RedisServer, startRedisServer } from "../testing.ts";

/** Commands the server has run so far by name, not counting INFO itself. */
async function commandCounts(
  client: RedisClient,
): Promise<Map<string, number>> {
  const info = String(await client.send(["INFO", "commandstats"]));
  const counts = new Map<string, number>();
  for (
    const [, name, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)
  ) {
    if (name !== "info") counts.set(name.toUpperCase(), Number(calls));
  }
  return counts;
}

let server: RedisServer | undefined;
let url: string;
const config = loadRedisConfig();
if (Deno.env.get("REDIS_URL")) {
  url = config.url;
} else {
  try {
    server = await startRedisServer();
  } catch (error) {
    // One sentence on what to install or set; startRedisServer says which.
    console.error(
      `The demo needs Redis: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(1);
  }
  url = server.url;
}

try {
  await using client = await createRedisClient(url);
  const krules = new KRules({
    storage: createRedisStorage(client, { keyPrefix: config.keyPrefix }),
  });
  const name = server
    ? "user-123"
    : `demo-user-${crypto.randomUUID().slice(0, 8)}`;
  const key = `s:${config.keyPrefix}${name}`;
  console.log(
    `Redis ${client.url}${
      server ? " (throwaway server)" : ""
    }, subject key ${key}`,
  );

  // 1. A hundred cached sets, then one store().
  const user = krules.subject(name);
  await user.set("name", "John Doe");
  await user.set("email", "john@example.com");
  for (let i = 0; i < 98; i++) await user.set(`score${i}`, i * 1.5);
  await user.setExt("lastlogin", "2024-01-01T12:00:00");
  const serverBefore = await commandCounts(client);
  const sentBefore = client.stats.commands;
  await user.store();
  const sent = client.stats.commands - sentBefore;
  const ran = [...await commandCounts(client)]
    .map(([name, calls]) =>
      [name, calls - (serverBefore.get(name) ?? 0)] as const
    )
    .filter(([, calls]) => calls > 0)
    .map(([name, calls]) => `${calls} ${name}`);
  console.log(
    `1. 100 cached set()s and 1 setExt(), then store(): ${sent} command sent, the server ran ${
      ran.join(", ")
    }`,
  );

  // 2. A fresh subject object reloads what was stored.
  const again = krules.subject(name);
  console.log(
    `2. reloaded: name=${JSON.stringify(await again.get("name"))} email=${
      JSON.stringify(await again.get("email"))
    } score97=${await again.get("score97")} lastlogin(ext)=${
      JSON.stringify(await again.getExt("lastlogin"))
    } properties=${(await again.keys()).length}`,
  );

  // 3. The hash, field by field, as the Python package lays it out.
  const hash = (await client.send(["HGETALL", key])) as string[];
  const shown = new Map<string, string>();
  for (let i = 0; i < hash.length; i += 2) shown.set(hash[i], hash[i + 1]);
  console.log(`3. HGETALL ${key} (${shown.size} fields), a few of them:`);
  for (const field of ["pname", "pemail", "pscore2", "elastlogin"]) {
    console.log(
      `     ${JSON.stringify(field)}: ${JSON.stringify(shown.get(field))}`,
    );
  }

  // 4. Fifty concurrent atomic increments through compare-and-set.
  await Promise.all(
    Array.from(
      { length: 50 },
      () =>
        krules.subject<{ logins: number }>(name).set(
          "logins",
          (n) => (n ?? 0) + 1,
          { useCache: false },
        ),
    ),
  );
  console.log(
    `4. 50 concurrent set("logins", (n) => (n ?? 0) + 1, { useCache: false }): logins = ${await krules
      .subject(name).get("logins")}`,
  );

  // 5. Clean up.
  await krules.subject(name).flush();
  console.log(
    `5. flush(): EXISTS ${key} -> ${await client.send(["EXISTS", key])}`,
  );
} finally {
  await server?.stop();
}
