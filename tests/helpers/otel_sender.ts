/**
 * A process that sends COUNT commands at once through one client, half
 * `HSET` and half `HGET`, for the telemetry tests: run with `OTEL_DENO=true`
 * and a sampler setting, it shows what Deno exports of each command. Given a
 * W3C `traceparent`, it sends them inside the trace it names, as a service
 * does for a request that came with that header.
 *
 * Usage: deno run --allow-net=127.0.0.1 tests/helpers/otel_sender.ts COUNT URL [TRACEPARENT]
 *
 * @module
 */
import { createRedisClient } from "../../src/client/client.ts";
import { insideTrace } from "./trace_context.ts";

const [countText, url, traceparent] = Deno.args;
await using client = await createRedisClient(url);
const sendAll = () =>
  Promise.all(
    Array.from(
      { length: Number(countText) },
      (_, i) =>
        client.send(
          i % 2 === 0
            ? ["HSET", `otel-sampled-${i}`, "f", "v"]
            : ["HGET", `otel-sampled-${i - 1}`, "f"],
        ),
    ),
  );
await (traceparent === undefined
  ? sendAll()
  : insideTrace(traceparent, sendAll));
