import { startRedisServer } from "../../testing.ts";
import { registerContractsOver, sharedServer } from "./contracts.ts";
import {
  DENO_REDIS_STAND_IN,
  NODE_REDIS,
  NODE_REDIS_5,
  SERVER_CLIENTS,
} from "../helpers/clients.ts";

// This module's own client runs the contracts in storage_redis_test.ts, a
// server per test; ioredis runs them in adapters_ioredis_test.ts, which needs
// a wider --allow-env.
for (const kind of [NODE_REDIS, NODE_REDIS_5, DENO_REDIS_STAND_IN]) {
  registerContractsOver(kind, async () => {
    const server = await startRedisServer();
    return {
      urls: [server.url],
      [Symbol.asyncDispose]: () => server.stop(),
    };
  });
}

// With REDIS_URL set (in the environment or .env), the contracts also run
// against that server, under a key prefix of this run's own that they delete
// afterwards. Every other test needs servers with their own configuration
// (ACL, TLS, AOF, kills) and keeps starting throwaway ones.
const shared = Deno.env.get("REDIS_URL");
if (shared) {
  for (const kind of SERVER_CLIENTS) {
    registerContractsOver(
      kind,
      () => sharedServer(shared),
      `${kind.name} on REDIS_URL`,
    );
  }
}
