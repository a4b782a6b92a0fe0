/**
 * Traces and metrics through Deno's built-in OpenTelemetry: `examples/worker.ts`
 * runs under `deno serve` with `OTEL_DENO=true`, exporting OTLP/JSON to a
 * receiver inside the test, and the test reads what arrived.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRedisClient } from "../../mod.ts";
import { queryText } from "../../src/telemetry/query_text.ts";
import { startRedisCluster, startRedisServer } from "../../testing.ts";
import {
  type OtlpReceiver,
  spanTree,
  startOtlpReceiver,
} from "../helpers/otlp.ts";
import { reportFigures } from "../helpers/figures.ts";
import { startWorkers } from "../helpers/worker.ts";

/** A password that must appear in no exported byte. */
const SECRET = "otel-Secret-7f3a";
const PREFIX = "otel:";
const DB = 3;
/** OTLP's span kinds. */
const SERVER = 2;
const CLIENT = 3;
/** Bound on the wait for the exporter's last batch after the worker stops. */
const EXPORT_WAIT_MS = 10_000;

/** A server with a password, and a string where the worker expects a hash. */
async function startServer() {
  const server = await startRedisServer({
    config: [`requirepass ${SECRET}`],
  });
  const url = server.url.replace("redis://", `redis://:${SECRET}@`)
    .replace(/\/0$/, `/${DB}`);
  await using client = await createRedisClient(url);
  await client.send(["SET", `s:${PREFIX}not-a-hash`, "plain string"]);
  return { server, url };
}

async function request(
  origin: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<number> {
  const response = await fetch(`${origin}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await response.body?.cancel();
  return response.status;
}

/** The worker's requests: increments (HGET + script), a store, and a failure. */
async function serveRequests(origin: string): Promise<void> {
  assert.equal(
    await request(origin, "POST", "/subjects/user-1/incr/logins"),
    200,
  );
  assert.equal(
    await request(origin, "POST", "/subjects/user-1/incr/logins"),
    200,
  );
  assert.equal(
    await request(origin, "PUT", "/subjects/user-1", { name: "Ada" }),
    200,
  );
  // HGETALL on a string: WRONGTYPE, which the worker does not handle.
  assert.equal(await request(origin, "GET", "/subjects/not-a-hash"), 500);
}

/**
 * Runs the worker on `url` with only `env` besides its own settings, exporting
 * to `receiver` if `env` turns telemetry on; it has exited when this resolves.
 */
async function runWorker(
  url: string,
  receiver: OtlpReceiver,
  env: Record<string, string>,
): Promise<void> {
  await using fleet = await startWorkers(1, {
    REDIS_URL: url,
    REDIS_KEY_PREFIX: PREFIX,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    // Metrics leave once, at exit, so each sum and histogram is one point.
    OTEL_METRIC_EXPORT_INTERVAL: "600000",
    ...env,
  }, { clearEnv: true });
  await serveRequests(fleet.origins[0]);
}

Deno.test("telemetry: each worker request's trace holds its Redis spans, named, attributed and parented under the request; a failed command is an error span; durations are exported", async () => {
  await using receiver = startOtlpReceiver();
  const { server, url } = await startServer();
  await using _server = server;
  await runWorker(url, receiver, {
    OTEL_DENO: "true",
    OTEL_SERVICE_NAME: "worker",
  });
  // Deno exports what is still batched as the process exits, which disposing
  // of the fleet made it do; its exit waits for the export, which the test
  // without OTEL_DENO relies on.
  assert.ok(receiver.bodies.length > 0, "the worker exited before exporting");
  const duration = () =>
    receiver.points().filter((p) =>
      p.metric === "db.client.operation.duration"
    );
  await receiver.until(
    () =>
      receiver.spans().some((s) =>
        s.attributes["error.type"] === "WRONGTYPE"
      ) &&
      duration().length > 0,
    EXPORT_WAIT_MS,
  );

  const spans = receiver.spans();
  const requests = spans.filter((s) => s.kind === SERVER);
  const commands = spans.filter((s) => s.kind === CLIENT);
  assert.equal(requests.length, 4);
  for (const request of requests) {
    const children = commands.filter((c) => c.parentSpanId === request.spanId);
    assert.ok(children.length > 0, `request ${request.name} has no Redis span`);
    for (const child of children) {
      assert.equal(child.traceId, request.traceId);
      assert.ok(
        child.startNs >= request.startNs && child.endNs <= request.endNs,
      );
    }
  }
  // Every command span belongs to a request: none is orphaned.
  const requestIds = new Set(requests.map((r) => r.spanId));
  assert.ok(commands.every((c) => requestIds.has(c.parentSpanId)));

  const incr = requests[0];
  const incrCommands = commands.filter((c) => c.parentSpanId === incr.spanId);
  assert.deepEqual(
    incrCommands.map((c) => c.name),
    ["HGET", "EVAL"],
    "the first increment reads, then loads and runs the script",
  );
  for (const span of commands) {
    assert.deepEqual(
      {
        system: span.attributes["db.system.name"],
        operation: span.attributes["db.operation.name"],
        namespace: span.attributes["db.namespace"],
        address: span.attributes["server.address"],
        port: span.attributes["server.port"],
        queryText: span.attributes["db.query.text"],
      },
      {
        system: "redis",
        operation: span.name,
        namespace: String(DB),
        address: "127.0.0.1",
        port: server.port,
        queryText: undefined,
      },
    );
  }
  // The second increment runs EVALSHA once the script's digest is ready,
  // else EVAL again: both are the real command sent.
  assert.deepEqual(
    [...new Set(commands.map((c) => c.name.replace("EVALSHA", "EVAL")))].sort(),
    ["EVAL", "HGET", "HGETALL", "HSET"],
  );

  const failed = commands.filter((c) => c.statusCode === 2);
  assert.deepEqual(
    failed.map((c) => [c.name, c.attributes["error.type"]]),
    [["HGETALL", "WRONGTYPE"]],
  );
  const failedRequest = requests.find((r) =>
    r.spanId === failed[0].parentSpanId
  );
  assert.equal(
    String(failedRequest?.attributes["http.response.status_code"]),
    "500",
  );

  const points = duration();
  assert.ok(points.every((p) => p.unit === "s" && p.kind === "histogram"));
  const count = (operation: string, errorType?: string) =>
    points
      .filter((p) =>
        p.attributes["db.operation.name"] === operation &&
        p.attributes["error.type"] === errorType
      )
      .reduce((sum, p) => sum + p.value, 0);
  assert.equal(count("HGET"), commands.filter((c) => c.name === "HGET").length);
  assert.equal(count("HGETALL", "WRONGTYPE"), 1);
  // A Redis error reply's prefix is its status code, on the span and the
  // duration alike, as OpenTelemetry requires when an operation fails.
  assert.deepEqual(
    points
      .filter((p) => p.attributes["error.type"] !== undefined)
      .map((p) => p.attributes["db.response.status_code"]),
    ["WRONGTYPE"],
  );
  assert.equal(failed[0].attributes["db.response.status_code"], "WRONGTYPE");
  // Sums are cumulative: the last point holds the total.
  const metric = (name: string) =>
    receiver.points().filter((p) => p.metric === name);
  assert.equal(metric("redis_subjects.cas.attempts").at(-1)?.value, 2);
  assert.equal(metric("db.client.connection.count").at(-1)?.value, 0);
  assert.equal(
    metric("db.client.connection.pending_requests").at(-1)?.value,
    0,
  );

  for (const body of receiver.bodies) {
    assert.ok(!body.includes(SECRET), "the password reached the exporter");
  }
  // Shown by `deno task test`; the README's printout is one such run.
  const show = [
    "url.path",
    "db.namespace",
    "server.address",
    "server.port",
    "error.type",
  ];
  for (const trace of [incr.traceId, failed[0].traceId]) {
    const tree = spanTree(spans.filter((s) => s.traceId === trace), show);
    for (const line of tree.split("\n")) reportFigures(`span tree: ${line}`);
  }
});

Deno.test("telemetry: without OTEL_DENO the worker serves the same requests and exports nothing", async () => {
  await using receiver = startOtlpReceiver();
  const { server, url } = await startServer();
  await using _server = server;
  await runWorker(url, receiver, {});
  // With OTEL_DENO, the last export arrives before the process has exited
  // (the test above relies on that too); without it there is none at all.
  assert.deepEqual(receiver.bodies, []);
});

Deno.test("telemetry: a cluster client's command spans name the node that served each command; auto-pipelining still batches them; opted-in query text shows keys, not values", async () => {
  const KEYS = 300;
  await using receiver = startOtlpReceiver();
  await using cluster = await startRedisCluster({ masters: 3 });
  const writer = new URL("../helpers/cluster_writer.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      writer.href,
      String(KEYS),
      ...cluster.urls,
    ],
    clearEnv: true,
    env: {
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, decoder.decode(stderr));
  // A redirect would add a failed span on the wrong node; the answered ones count.
  const sets = () =>
    receiver.spans().filter((s) => s.name === "SET" && s.statusCode !== 2);
  await receiver.until(() => sets().length >= KEYS, EXPORT_WAIT_MS);

  // Each span ended when its own reply came, yet the commands of one tick
  // still left in one write per master.
  const stats = JSON.parse(decoder.decode(stdout));
  assert.ok(stats.writes <= 10, `${stats.writes} writes for ${KEYS} commands`);
  assert.equal(new Set(sets().map((s) => s.spanId)).size, KEYS);

  const keysByPort = new Map<number, string[]>();
  for (const span of sets()) {
    const text = String(span.attributes["db.query.text"]);
    assert.match(text, /^SET otel-key-\d+ \?$/);
    const port = Number(span.attributes["server.port"]);
    keysByPort.set(port, [...keysByPort.get(port) ?? [], text.split(" ")[1]]);
  }
  assert.equal(keysByPort.size, 3, "the keys spread over all three masters");
  for (const [port, keys] of keysByPort) {
    // The node a span names holds its key: any other would answer MOVED.
    await using node = await createRedisClient(`redis://127.0.0.1:${port}`);
    const found = await Promise.all(keys.map((k) => node.send(["EXISTS", k])));
    assert.ok(found.every((n) => n === 1), `a key is not on ${port}`);
  }
  for (const body of receiver.bodies) {
    assert.ok(!body.includes("secret-value"), "a value reached the exporter");
  }
});

/**
 * Runs `tests/helpers/otel_sender.ts`: `count` commands at once, exporting to
 * `receiver` under `sampler`, inside the trace `traceparent` names if given.
 */
async function sendTraced(
  receiver: OtlpReceiver,
  url: string,
  count: number,
  sampler: string,
  traceparent?: string,
): Promise<void> {
  const sender = new URL("../helpers/otel_sender.ts", import.meta.url);
  const args = [
    "run",
    "--allow-net=127.0.0.1",
    sender.href,
    String(count),
    url,
  ];
  if (traceparent !== undefined) args.push(traceparent);
  const { code, stderr } = await new Deno.Command("deno", {
    args,
    clearEnv: true,
    env: {
      OTEL_DENO: "true",
      OTEL_TRACES_SAMPLER: sampler,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      // Metrics leave once, at exit, so each sum and histogram is one point.
      OTEL_METRIC_EXPORT_INTERVAL: "600000",
    },
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

/** The commands of one name whose duration `receiver` got. */
function durationsOf(receiver: OtlpReceiver, operation: string): number {
  return receiver.points()
    .filter((p) =>
      p.metric === "db.client.operation.duration" &&
      p.attributes["db.operation.name"] === operation
    )
    .reduce((sum, p) => sum + p.value, 0);
}

Deno.test("telemetry: with a sampler that drops every trace, commands export no span yet each one's duration counts, and pending requests read 0 after 1,000 at once", async () => {
  const COMMANDS = 1000;
  await using receiver = startOtlpReceiver();
  await using server = await startRedisServer();
  await sendTraced(receiver, server.url, COMMANDS, "always_off");
  const points = (name: string) =>
    receiver.points().filter((p) => p.metric === name);
  await receiver.until(
    () => points("db.client.operation.duration").length > 0,
    EXPORT_WAIT_MS,
  );
  assert.deepEqual(receiver.spans().filter((s) => s.kind === CLIENT), []);
  assert.equal(durationsOf(receiver, "HSET"), COMMANDS / 2);
  assert.equal(durationsOf(receiver, "HGET"), COMMANDS / 2);
  assert.equal(
    points("db.client.connection.pending_requests").at(-1)?.value,
    0,
  );
  assert.equal(points("db.client.connection.count").at(-1)?.value, 0);
});

Deno.test("telemetry: commands inside a trace that is not recorded start no span, even under a sampler that would keep one; inside a recorded trace each is a child of its parent", async () => {
  const COMMANDS = 100;
  const TRACE = "0af7651916cd43dd8448eb211c80319c";
  const PARENT = "b7ad6b7169203331";
  await using receiver = startOtlpReceiver();
  await using server = await startRedisServer();
  // always_on would record a child of an unsampled parent (Deno does); the
  // client does not start one: flag 00, the upstream service kept nothing.
  await sendTraced(
    receiver,
    server.url,
    COMMANDS,
    "always_on",
    `00-${TRACE}-${PARENT}-00`,
  );
  await receiver.until(
    () => durationsOf(receiver, "HGET") === COMMANDS / 2,
    EXPORT_WAIT_MS,
  );
  assert.deepEqual(receiver.spans().filter((s) => s.kind === CLIENT), []);
  assert.equal(durationsOf(receiver, "HSET"), COMMANDS / 2);
  // Flag 01: the same commands in a recorded trace, each its own span.
  await sendTraced(
    receiver,
    server.url,
    COMMANDS,
    "always_on",
    `00-${TRACE}-${PARENT}-01`,
  );
  await receiver.until(
    () => receiver.spans().filter((s) => s.kind === CLIENT).length >= COMMANDS,
    EXPORT_WAIT_MS,
  );
  const spans = receiver.spans().filter((s) => s.kind === CLIENT);
  assert.equal(spans.length, COMMANDS);
  for (const span of spans) {
    assert.equal(span.traceId, TRACE);
    assert.equal(span.parentSpanId, PARENT);
  }
  assert.deepEqual(
    spans.map((s) => s.name).sort(),
    [
      ...Array(COMMANDS / 2).fill("HGET"),
      ...Array(COMMANDS / 2).fill("HSET"),
    ],
  );
});

Deno.test("telemetry: db.query.text shows keys and field names, never values, script bodies or unknown commands' arguments", () => {
  const table: [unknown[], string][] = [
    [
      ["HSET", "s:app:u1", "pname", '"Ada"', "age", "36"],
      "HSET s:app:u1 pname ? age ?",
    ],
    [["hget", "s:app:u1", "pname"], "HGET s:app:u1 pname"],
    [["HMGET", "k", "a", "b"], "HMGET k a b"],
    [["HINCRBY", "k", "n", 5], "HINCRBY k n ?"],
    [["HGETALL", "k"], "HGETALL k"],
    [["SET", "k", "value", "PX", 10], "SET k ? ? ?"],
    [["DEL", "a", "b"], "DEL a b"],
    [
      ["EVAL", "return redis.call('SET', KEYS[1], 'x')", 1, "k", "v"],
      "EVAL ? 1 k ?",
    ],
    [["EVALSHA", "abc123", 2, "k1", "k2", "v"], "EVALSHA abc123 2 k1 k2 ?"],
    [["AUTH", "user", SECRET], "AUTH ? ?"],
    [["CONFIG", "SET", "requirepass", SECRET], "CONFIG ? ? ?"],
    [["HSET", new Uint8Array([1]), "f", "v"], "HSET ? f ?"],
  ];
  for (const [args, text] of table) {
    assert.equal(queryText(args as string[]), text);
  }
  const long = queryText([
    "DEL",
    ...Array.from({ length: 100 }, (_, i) => `k${i}`),
  ]);
  assert.ok(long.endsWith(" k63 …"), long);
});
