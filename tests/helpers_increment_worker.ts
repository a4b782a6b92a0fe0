/**
 * One incrementing process for the multi-process concurrency test. It
 * connects, prints `ready`, waits for `go` on stdin (so that all processes
 * start together and really contend), runs its increments, and prints the
 * new values it was given as one JSON line. It exits non-zero if any
 * increment saw an old value other than its new value minus one.
 *
 * Usage: deno run --allow-net=127.0.0.1 helpers_increment_worker.ts URL PREFIX SUBJECT COUNT LANES
 *
 * @module
 */
import { createRedisClient } from "../src/client/client.ts";
import { createRedisStorage } from "../src/storage/redis_storage.ts";
import { KRules } from "../src/subject/krules.ts";

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

const values: number[] = [];
await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
  const share = Math.floor(count / lanes) + (lane < count % lanes ? 1 : 0);
  for (let i = 0; i < share; i++) {
    const [value, old] = await subject.set(
      "counter",
      (c: number | undefined) => (c ?? 0) + 1,
      { useCache: false },
    );
    if (value !== ((old as number | undefined) ?? 0) + 1) {
      throw new Error(`increment saw old ${old} but wrote ${value}`);
    }
    values.push(value as number);
  }
}));
await print(JSON.stringify(values));
