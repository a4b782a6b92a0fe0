// Telemetry cost: mixed storage reads and writes, 256 in flight over 10,000
// subjects, in a process that bench/telemetry.ts starts with and without
// OTEL_DENO=true. Prints the median rate of 3 runs of 20,000 as JSON. Given a
// W3C traceparent after the URL, every command runs inside that trace.
import { createRedisClient, createRedisStorage } from "../../mod.ts";
import { SubjectProperty } from "../../storage.ts";
import { median, pool } from "../_table.ts";
import { insideTrace } from "../../tests/helpers/trace_context.ts";

await using client = await createRedisClient(Deno.args[0]);
const factory = createRedisStorage(client, { keyPrefix: "bench:otel:" });
const storages = Array.from({ length: 10_000 }, (_, i) => factory(`u${i}`));
const prop = new SubjectProperty("score");
const op = (i: number) => {
  const storage = storages[(i * 7919) % storages.length];
  return i % 5 === 0
    ? storage.set(new SubjectProperty("score", i))
    : storage.get(prop);
};
const measure = async () => {
  await Promise.all(
    storages.map((s) => s.set(new SubjectProperty("score", 0))),
  );
  await pool(10_000, 256, op);
  const rates: number[] = [];
  for (let r = 0; r < 3; r++) rates.push(await pool(20_000, 256, op));
  return median(rates);
};
const traceparent = Deno.args[1];
const rate =
  await (traceparent === undefined
    ? measure()
    : insideTrace(traceparent, measure));
console.log(JSON.stringify({ rate }));
