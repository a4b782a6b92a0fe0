import { startRedisServer } from "../testing.ts";
import { behaviourSuiteOver, sharedServer } from "./contracts.ts";
import { SERVER_CLIENTS } from "./helpers_clients.ts";

// This module's own client runs the suite in storage_redis_test.ts; ioredis
// runs it in adapters_ioredis_test.ts, which needs a wider --allow-env.
for (const kind of SERVER_CLIENTS) {
  if (kind.name === "RedisClient" || kind.name === "ioredis") continue;
  behaviourSuiteOver(kind, async () => {
    const server = await startRedisServer();
    return {
      urls: [server.url],
      [Symbol.asyncDispose]: () => server.stop(),
    };
  });
}

// With REDIS_URL set (in the environment or .env), the suite also runs
// against that server, under a key prefix of this run's own that it deletes
// afterwards. Every other test needs servers with their own configuration
// (ACL, TLS, AOF, kills) and keeps starting throwaway ones.
const shared = Deno.env.get("REDIS_URL");
if (shared) {
  for (const kind of SERVER_CLIENTS) {
    if (kind.name === "ioredis") continue;
    behaviourSuiteOver(
      kind,
      () => sharedServer(shared),
      `${kind.name} on REDIS_URL`,
    );
  }
}
