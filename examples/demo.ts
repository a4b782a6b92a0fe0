/**
 * `deno task demo`. Placeholder until the storage layer lands: connects and
 * pings a throwaway server.
 *
 * @module
 */
import { createRedisClient } from "../mod.ts";
import { startRedisServer } from "../testing.ts";

await using server = await startRedisServer();
await using client = await createRedisClient(server.url);
console.log("PING ->", await client.send(["PING"]));
