// Memory row, node-redis: the same raw commands as ours (HGETALL to load,
// HGET and the same set script), results kept as node-redis returns them.
// Run by bench/memory.ts with the script's SHA1 as second argument.
import { createClient } from "redis";
import { measure, SUBJECTS } from "./_measure.ts";

const client = createClient({ url: Deno.args[0] });
await client.connect();
const sha = Deno.args[1];
const key = (i: number) => `s:bench:memory:u${(i * 7919) % SUBJECTS}`;

await measure({
  load: (s) => client.hGetAll(`s:bench:memory:u${s}`),
  async op(i) {
    if (i % 5 !== 0) {
      return JSON.parse(String(await client.hGet(key(i), "pf0")));
    }
    const old = await client.sendCommand([
      ...["EVALSHA", sha, "1", key(i), "pf0", JSON.stringify({ n: i })],
    ]);
    return old === null ? undefined : JSON.parse(String(old));
  },
  close: async () => {
    await client.quit();
  },
});
