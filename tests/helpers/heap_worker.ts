/**
 * Run by client_dead_connection_test.ts in its own process with
 * `--v8-flags=--expose-gc`: sends 100,000 commands that all time out on a
 * connection that stays alive (the fake keeps answering, one late reply
 * every few milliseconds), and prints the heap growth after GC as JSON.
 *
 * @module
 */
import { createRedisClient, RedisTimeoutError } from "../../mod.ts";
import { startTcpFake } from "./tcp_fakes.ts";

const COMMANDS = 100_000;
const TIMEOUT_MS = 1000;
const encoder = new TextEncoder();
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

await using fake = startTcpFake(async (conn) => {
  const buf = new Uint8Array(64 * 1024);
  // The handshake, if any, gets its PONG; then whole replies trickle in, far
  // slower than commands arrive. (A reply that never completes would retire
  // the connection; this measures the queue of a live one.)
  if ((await conn.read(buf)) === null) return;
  await conn.write(encoder.encode("+PONG\r\n"));
  const drip = encoder.encode("+OK\r\n");
  // Commands received and not yet answered; no argument here holds a `*`,
  // so each `*` starts one.
  let unanswered = 0;
  const reading = (async () => {
    let n: number | null;
    while ((n = await conn.read(buf)) !== null) {
      for (let i = 0; i < n; i++) if (buf[i] === 0x2a) unanswered++;
    }
  })();
  let open = true;
  reading.finally(() => open = false);
  while (open) {
    if (unanswered > 0) {
      unanswered--;
      await conn.write(drip);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
});

await using client = await createRedisClient(fake.url, {
  commandTimeoutMs: TIMEOUT_MS,
});
// Warm up the code paths so their compilation is not counted.
await client.send(["PING"]).catch(() => {});
gc();
gc();
const before = Deno.memoryUsage().heapUsed;
let timedOut = 0;
/** The few commands the trickle answers within their deadline. */
let answered = 0;
const sends: Promise<void>[] = [];
for (let i = 0; i < COMMANDS; i++) {
  sends.push(
    client.send(["SET", `key-${i}`, "a value of some length"]).then(
      () => {
        answered++;
      },
      (error) => {
        if (error instanceof RedisTimeoutError) timedOut++;
      },
    ),
  );
}
await Promise.all(sends);
sends.length = 0;
gc();
gc();
const after = Deno.memoryUsage().heapUsed;
console.log(JSON.stringify({
  commands: COMMANDS,
  timedOut,
  answered,
  reconnects: client.stats.reconnects,
  growthBytes: after - before,
}));
Deno.exit(0);
