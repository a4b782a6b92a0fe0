/**
 * Telemetry cost row of `deno task bench`: the many-in-flight mix of storage
 * reads and writes in a fresh process with `OTEL_DENO=true`, exporting every
 * span and metric over OTLP/JSON to a receiver here that takes and drops
 * them, against the same process with telemetry off. The row reports
 * "not available" when no Redis span reaches the receiver, i.e. when the
 * module emits no telemetry.
 *
 * Run alone with `deno task bench telemetry`, or as part of `deno task bench`.
 *
 * @module
 */

import { startRedisServer } from "../testing.ts";
import { alternate, median, type Row } from "./_table.ts";
import { runDeno } from "./_child.ts";

const child = new URL("./telemetry/child.ts", import.meta.url);

async function rate(url: string, env: Record<string, string>): Promise<number> {
  const flags = [
    "--allow-net=127.0.0.1",
    "--allow-env=REDIS_DEBUG_MAINTENANCE,REDIS_EMIT_DIAGNOSTICS",
  ];
  return JSON.parse(await runDeno(child, flags, [url], env)).rate;
}

/** The telemetry cost row, on a fresh server, with `runs` processes each way. */
export async function benchTelemetry(runs = 2): Promise<Row> {
  await using server = await startRedisServer();
  let exports = 0;
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      // Deno exports its own telemetry too; only the module's spans count.
      if ((await request.text()).includes('"db.system.name"')) exports++;
      return Response.json({});
    },
  );
  try {
    const endpoint = `http://127.0.0.1:${receiver.addr.port}`;
    const results = await alternate(runs, {
      on: () =>
        rate(server.url, {
          OTEL_DENO: "true",
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_SERVICE_NAME: "redis-subjects-bench",
        }),
      off: () => rate(server.url, { OTEL_DENO: "false" }),
    });
    const scenario =
      "telemetry on: many in flight, OTEL_DENO=true exporting (ops/s)";
    if (exports === 0) {
      return {
        scenario,
        ours: NaN,
        baselines: { "telemetry off": median(results.off) },
        note:
          "not available: with OTEL_DENO=true no Redis span was exported, so this build emits no telemetry",
      };
    }
    const cost = 1 - median(results.on) / median(results.off);
    return {
      scenario,
      ours: median(results.on),
      baselines: { "the same, telemetry off": median(results.off) },
      note: `${
        (cost * 100).toFixed(0)
      } % fewer operations per second with a span and a duration recording per command; ${exports} OTLP requests with Redis spans received`,
    };
  } finally {
    await receiver.shutdown();
  }
}

if (import.meta.main) {
  const { formatTable, summarize } = await import("./_table.ts");
  console.log(formatTable(summarize([[await benchTelemetry()]])));
}
