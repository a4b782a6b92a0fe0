import { startRedisServer } from "../testing.ts";
import { behaviourSuiteOver } from "./helpers_client_suite.ts";
import { SERVER_CLIENTS } from "./helpers_clients.ts";

// This module's own client runs the suite in storage_redis_test.ts; ioredis
// runs it in ioredis_test.ts, which needs a wider --allow-env.
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
