// Cold start with ioredis 6 (RESP3, its default): import, connect, first HGET (+ JSON decode).
import { Redis } from "ioredis";

const client = new Redis(Deno.args[0]);
const name = JSON.parse(
  String(await client.hget("s:bench:cold:user-1", "pname")),
);
await client.quit();
if (name !== "Ada") throw new Error(`unexpected value ${name}`);
