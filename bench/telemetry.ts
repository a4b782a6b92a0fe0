/**
 * Telemetry cost row of `deno task bench`: the many-in-flight mix of storage
 * reads and writes in a fresh process with `OTEL_DENO=true`, exporting every
 * span and metric as Deno does by default (OTLP over HTTP, protobuf) to a
 * receiver here that takes and drops them, against the same process with
 * telemetry off; and the same with 1 % of traces sampled
 * (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`), where the other commands
 * still record their duration. A row reports "not available" when no Redis
 * span reaches the receiver, i.e. when the module emits no telemetry.
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

async function rate(url: string, env: Record<string, string>): Promise<number> {
  const flags = [
    "--allow-net=127.0.0.1",
    "--allow-env=REDIS_DEBUG_MAINTENANCE,REDIS_EMIT_DIAGNOSTICS",
  ];
  return JSON.parse(await runDeno(child, flags, [url], env)).rate;
}

/** The telemetry cost rows, on a fresh server, with `runs` processes each way. */
export async function benchTelemetry(runs = 2): Promise<Row[]> {
  await using server = await startRedisServer();
  const exports = { on: 0, sampled: 0 };
  let current: keyof typeof exports = "on";
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      // Deno exports its own telemetry too, and the durations carry the same
      // key; only traces with the module's spans count. Bytes, not text: the
      // body is protobuf, and decoding it would cost this machine's CPU.
      const body = await request.bytes();
      if (new URL(request.url).pathname === "/v1/traces" && marked(body)) {
        exports[current]++;
      }
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
    ) => {
      current = key;
      return rate(server.url, { ...exporting, ...env });
    };
    const results = await alternate(runs, {
      on: () => measure("on", {}),
      sampled: () =>
        measure("sampled", {
          OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
          OTEL_TRACES_SAMPLER_ARG: "0.01",
        }),
      off: () => rate(server.url, { OTEL_DENO: "false" }),
    });
    const off = median(results.off);
    const row = (
      scenario: string,
      key: keyof typeof exports,
      what: string,
      target?: number,
    ): Row => {
      if (exports[key] === 0) {
        return {
          scenario,
          ours: NaN,
          baselines: { "telemetry off": off },
          note:
            "not available: with OTEL_DENO=true no Redis span was exported, so this build emits no telemetry",
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
        } OTLP requests with Redis spans received`,
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
    ];
  } finally {
    await receiver.shutdown();
  }
}

if (import.meta.main) {
  const { formatTable, summarize } = await import("./_table.ts");
  console.log(formatTable(summarize([await benchTelemetry()])));
}
