/**
 * Telemetry cost row of `deno task bench`: the many-in-flight mix of storage
 * reads and writes in a fresh process with `OTEL_DENO=true`, exporting every
 * span and metric as Deno does by default (OTLP over HTTP, protobuf) to a
 * receiver here that takes and drops them, against the same process with
 * telemetry off; the same with 1 % of traces sampled
 * (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`), where the other commands
 * still record their duration; and the same inside a trace whose caller does
 * not record it (a `traceparent` with flag `00`), where no command starts a
 * span. A row reports "not available" when the receiver gets none of the
 * module's spans (or, for the last row, of its metrics), i.e. when the module
 * emits no telemetry.
 *
 * Run alone with `deno task bench telemetry`, or as part of `deno task bench`.
 * `bench/telemetry/span_cost.ts` measures what Deno's spans and recordings
 * cost by themselves: the floor under these rows.
 *
 * @module
 */

import { startRedisServer } from "../testing.ts";
import { alternate, median, type Row } from "./_table.ts";
import { runDeno } from "./_child.ts";

const child = new URL("./telemetry/child.ts", import.meta.url);

/** The attribute key every command span carries, as it appears in an OTLP body. */
const MARK = new TextEncoder().encode("db.system.name");

/** Whether `body` holds the bytes of `MARK`, whatever the encoding around them. */
function marked(body: Uint8Array): boolean {
  for (
    let i = body.indexOf(MARK[0]);
    i !== -1 && i <= body.length - MARK.length;
    i = body.indexOf(MARK[0], i + 1)
  ) {
    let j = 1;
    while (j < MARK.length && body[i + j] === MARK[j]) j++;
    if (j === MARK.length) return true;
  }
  return false;
}

/** A trace the caller did not record (sampled flag off), as a request may carry. */
const UNRECORDED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

async function rate(
  url: string,
  env: Record<string, string>,
  traceparent?: string,
): Promise<number> {
  const flags = [
    "--allow-net=127.0.0.1",
    "--allow-env=REDIS_DEBUG_MAINTENANCE,REDIS_EMIT_DIAGNOSTICS",
  ];
  const args = traceparent === undefined ? [url] : [url, traceparent];
  return JSON.parse(await runDeno(child, flags, args, env)).rate;
}

/** The telemetry cost rows, on a fresh server, with `runs` processes each way. */
export async function benchTelemetry(runs = 2): Promise<Row[]> {
  await using server = await startRedisServer();
  const exports = { on: 0, sampled: 0, unrecorded: 0 };
  /** OTLP metric requests with the module's metrics, by row. */
  const metricExports = { on: 0, sampled: 0, unrecorded: 0 };
  let current: keyof typeof exports = "on";
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      // Deno exports its own telemetry too, and the durations carry the same
      // key; only traces with the module's spans count. Bytes, not text: the
      // body is protobuf, and decoding it would cost this machine's CPU.
      const body = await request.bytes();
      const path = new URL(request.url).pathname;
      if (path === "/v1/traces" && marked(body)) exports[current]++;
      if (path === "/v1/metrics" && marked(body)) metricExports[current]++;
      return new Response(null, { status: 200 });
    },
  );
  try {
    const exporting = {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.addr.port}`,
      // Deno's default, named so that the caller's environment cannot change it.
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_SERVICE_NAME: "redis-subjects-bench",
    };
    const measure = (
      key: keyof typeof exports,
      env: Record<string, string>,
      traceparent?: string,
    ) => {
      current = key;
      return rate(server.url, { ...exporting, ...env }, traceparent);
    };
    const results = await alternate(runs, {
      on: () => measure("on", {}),
      sampled: () =>
        measure("sampled", {
          OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
          OTEL_TRACES_SAMPLER_ARG: "0.01",
        }),
      unrecorded: () => measure("unrecorded", {}, UNRECORDED),
      off: () => rate(server.url, { OTEL_DENO: "false" }),
    });
    const off = median(results.off);
    const row = (
      scenario: string,
      key: keyof typeof exports,
      what: string,
      target?: number,
    ): Row => {
      // Commands in an unrecorded trace export no span, only metrics.
      const spansExpected = key !== "unrecorded";
      if ((spansExpected ? exports[key] : metricExports[key]) === 0) {
        return {
          scenario,
          ours: NaN,
          baselines: { "telemetry off": off },
          note: `not available: with OTEL_DENO=true no Redis ${
            spansExpected ? "span" : "metric"
          } was exported, so this build emits no telemetry`,
        };
      }
      const cost = 1 - median(results[key]) / off;
      return {
        scenario,
        ours: median(results[key]),
        baselines: { "the same, telemetry off": off },
        target,
        note: `${
          (cost * 100).toFixed(0)
        } % fewer operations per second with ${what}; ${
          exports[key]
        } OTLP requests with Redis spans received${
          spansExpected
            ? ""
            : ` (none expected), ${metricExports[key]} with its metrics`
        }`,
      };
    };
    return [
      row(
        "telemetry on: many in flight, OTEL_DENO=true exporting (ops/s)",
        "on",
        "a span and a duration recording per command",
        0.5,
      ),
      row(
        "telemetry on, 1 % of traces sampled: many in flight (ops/s)",
        "sampled",
        "a span kept for 1 % of commands and a duration recording per command",
      ),
      row(
        "telemetry on, inside a trace the caller does not record: many in flight (ops/s)",
        "unrecorded",
        "a duration recording per command and no span (traceparent flag 00)",
      ),
    ];
  } finally {
    await receiver.shutdown();
  }
}

if (import.meta.main) {
  const { formatTable, summarize } = await import("./_table.ts");
  console.log(formatTable(summarize([await benchTelemetry()])));
}
