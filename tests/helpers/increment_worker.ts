/**
 * One incrementing process for the multi-process concurrency test. It
 * connects, prints `ready`, waits for `go` on stdin (so that all processes
 * start together and really contend), runs its increments, and prints the
 * `[new, old]` pair each one got, as one JSON line.
 *
 * Usage: deno run --allow-net=127.0.0.1 tests/helpers/increment_worker.ts URL PREFIX SUBJECT COUNT LANES
 *
 * @module
 */
import { createRedisClient } from "../../src/client/client.ts";
import { createRedisStorage } from "../../src/storage/redis/redis_storage.ts";
import { KRules } from "../../src/subject/krules.ts";

const [url, keyPrefix, subjectName, countText, lanesText] = Deno.args;
const count = Number(countText);
const lanes = Number(lanesText);
const encoder = new TextEncoder();
const print = (line: string) => Deno.stdout.write(encoder.encode(`${line}\n`));

await using client = await createRedisClient(url);
const subject = new KRules({
  storage: createRedisStorage(client, { keyPrefix }),
}).subject(subjectName);

await print("ready");
let input = "";
for await (
  const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
) {
  input += chunk;
  if (input.includes("go\n")) break;
}

const pairs: [unknown, unknown][] = [];
await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
  const share = Math.floor(count / lanes) + (lane < count % lanes ? 1 : 0);
  for (let i = 0; i < share; i++) {
    pairs.push(
      await subject.set(
        "counter",
        (c: number | undefined) => (c ?? 0) + 1,
        { useCache: false },
      ),
    );
  }
}));
await print(JSON.stringify(pairs));
