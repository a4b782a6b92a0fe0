// Cold start with node-redis 6 (RESP3, its default): import, connect, first HGET (+ JSON decode).
import { createClient } from "redis";

const client = createClient({ url: Deno.args[0] });
await client.connect();
const name = JSON.parse(
  String(await client.hGet("s:bench:cold:user-1", "pname")),
);
await client.quit();
if (name !== "Ada") throw new Error(`unexpected value ${name}`);
