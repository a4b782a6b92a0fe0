/**
 * What one span costs in Deno's built-in OpenTelemetry on this machine, with
 * no code of this module involved: the floor under the telemetry rows of
 * `deno task bench`. Not part of the table; run it alone:
 *
 * ```sh
 * flock /tmp/bench.lock deno run --allow-run=deno --allow-net=127.0.0.1 \
 *   bench/telemetry/span_cost.ts
 * ```
 *
 * For each kind of call it starts a process of its own with `OTEL_DENO=true`,
 * exporting as Deno does by default (OTLP over HTTP, protobuf) to a receiver
 * here that drops what it gets, and prints:
 * - the main thread's microseconds per call, in a tight loop;
 * - the whole process's CPU microseconds per call, exporter thread included,
 *   at a pace the exporter keeps up with (Deno drops spans when its queue of
 *   2,048 is full), less the same loop making no call.
 *
 * @module
 */

import process from "node:process";

const CALLS = 100_000;
/** Calls per timer tick when paced: about 50,000 a second, under the exporter's pace. */
const PER_TICK = 100;

const KINDS = [
  "nothing",
  "empty span",
  "span, 5 attributes at start",
  "span, 5 attributes set after start",
  "duration, 5 attributes",
  "performance.now()",
] as const;
type Kind = typeof KINDS[number];

/** The call each kind makes, with attributes like a command's. */
function call(kind: Kind): () => void {
  const tracer = Deno.telemetry.tracerProvider.getTracer("span-cost");
  const histogram = Deno.telemetry.meterProvider.getMeter("span-cost")
    .createHistogram("span_cost.duration", { unit: "s" });
  const attributes = Object.freeze({
    "db.system.name": "redis",
    "db.namespace": "0",
    "server.address": "127.0.0.1",
    "server.port": 6379,
    "db.operation.name": "GET",
  });
  const plain = Object.freeze({ kind: 2 });
  const withAttributes = Object.freeze({ kind: 2, attributes });
  switch (kind) {
    case "nothing":
      return () => {};
    case "empty span":
      return () => tracer.startSpan("GET", plain).end();
    case "span, 5 attributes at start":
      return () => tracer.startSpan("GET", withAttributes).end();
    case "span, 5 attributes set after start":
      return () => {
        const span = tracer.startSpan("GET", plain);
        span.setAttributes(attributes);
        span.end();
      };
    case "duration, 5 attributes":
      return () => histogram.record(0.0003, attributes);
    case "performance.now()":
      return () => void performance.now();
  }
}

/** User plus system CPU microseconds of this process so far, every thread. */
function cpuMicroseconds(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

async function child(kind: Kind, paced: boolean): Promise<void> {
  const body = call(kind);
  const cpu = cpuMicroseconds();
  const started = performance.now();
  if (paced) {
    for (let i = 0; i < CALLS; i += PER_TICK) {
      for (let j = 0; j < PER_TICK; j++) body();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // Past the exporter's 5 s batch delay, so its last batch is in the count.
    await new Promise((resolve) => setTimeout(resolve, 6000));
  } else {
    for (let i = 0; i < CALLS; i++) body();
  }
  const wallUs = (performance.now() - started) * 1000 / CALLS;
  const cpuUs = (cpuMicroseconds() - cpu) / CALLS;
  console.log(JSON.stringify({ wallUs, cpuUs }));
}

async function run(
  kind: Kind,
  paced: boolean,
  endpoint: string,
): Promise<{ wallUs: number; cpuUs: number }> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: [
      "run",
      "--quiet",
      new URL(import.meta.url).pathname,
      kind,
      paced ? "paced" : "tight",
    ],
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

if (Deno.args.length === 2) {
  await child(Deno.args[0] as Kind, Deno.args[1] === "paced");
} else {
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      await request.bytes();
      return new Response(null, { status: 200 });
    },
  );
  const endpoint = `http://127.0.0.1:${receiver.addr.port}`;
  const idle = await run("nothing", true, endpoint);
  console.log(
    "| call | main thread, µs | CPU with export, µs | per second on one core |",
  );
  console.log("| --- | ---: | ---: | ---: |");
  for (const kind of KINDS.slice(1)) {
    const tight = await run(kind, false, endpoint);
    const paced = await run(kind, true, endpoint);
    const cpu = paced.cpuUs - idle.cpuUs;
    console.log(
      `| ${kind} | ${tight.wallUs.toFixed(2)} | ${cpu.toFixed(1)} | ${
        Math.round(1e6 / cpu).toLocaleString("en-US")
      } |`,
    );
  }
  await receiver.shutdown();
}
