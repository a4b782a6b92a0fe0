/**
 * A TCP proxy that adds network latency, for the benchmark rows that run as
 * if Redis sat a network hop away. Never shipped.
 *
 * Every chunk read from either side is written to the other side a fixed
 * one-way delay after it arrived, in the order it arrived. The proxy runs as
 * its own `deno run` process, so its work never competes with the measured
 * client's event loop, and {@linkcode startLatencyProxy} starts it.
 *
 * Deno's timers fire on a millisecond wheel (a `setTimeout(0)` takes 1 to
 * 2 ms), far too coarse for a 0.25 ms delay. So the proxy keeps one queue of
 * due writes, ordered by due time since every delay is the same, and a timer
 * thread (a worker blocked in `Atomics.wait`, whose timeout has microsecond
 * resolution) posts a message when the head of the queue is due.
 * {@linkcode measureAddedRoundTrip} measures what the proxy really adds.
 *
 * @module
 */

import { redisBenchmark } from "./_child.ts";

/** A running latency proxy. Dispose of it to stop it. */
export interface LatencyProxy extends AsyncDisposable {
  /** The port the proxy listens on, on 127.0.0.1. */
  readonly port: number;
  /** `redis://127.0.0.1:PORT/0` through the proxy. */
  readonly url: string;
  /** The one-way delay it adds to every chunk, in milliseconds. */
  readonly oneWayMs: number;
}

/**
 * Starts a proxy process in front of `127.0.0.1:targetPort` that delays every
 * chunk by `oneWayMs` in each direction (so a round trip gains twice that).
 *
 * @param targetPort The port of the server to forward to.
 * @param oneWayMs The delay added to each direction, in milliseconds.
 * @returns The running proxy.
 */
export async function startLatencyProxy(
  targetPort: number,
  oneWayMs: number,
): Promise<LatencyProxy> {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "-q",
      "--allow-net=127.0.0.1",
      new URL(import.meta.url).pathname,
      String(targetPort),
      String(oneWayMs),
    ],
    // The proxy exits when this pipe closes, so it never outlives the bench.
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The latency proxy exited before it listened.");
    text += value;
  }
  reader.releaseLock();
  const port = Number(text.trim());
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    oneWayMs,
    async [Symbol.asyncDispose]() {
      await child.stdin.close();
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

/**
 * The round trip the proxy really adds, in milliseconds: `redis-benchmark
 * -c 1` (one `PING` in flight at a time) straight to the server, then
 * through the proxy, and the difference of their mean times per request.
 *
 * @param serverPort The server's own port.
 * @param proxyPort The proxy's port in front of it.
 * @returns The added round trip and both request rates.
 */
export async function measureAddedRoundTrip(
  serverPort: number,
  proxyPort: number,
): Promise<{ addedMs: number; directRps: number; proxiedRps: number }> {
  const rps = (port: number, requests: number) =>
    redisBenchmark(port, [
      "-c",
      "1",
      "-n",
      String(requests),
      "-t",
      "ping_mbulk",
    ]);
  const directRps = await rps(serverPort, 10_000);
  const proxiedRps = await rps(proxyPort, 1_000);
  return {
    addedMs: 1000 / proxiedRps - 1000 / directRps,
    directRps,
    proxiedRps,
  };
}

// The timer thread: told a due time (ms since the epoch, as a float), it
// sleeps until then with a futex wait and answers. Inline, so that the proxy
// needs no read permission to start it.
const TIMER_SOURCE = `
const cell = new Int32Array(new SharedArrayBuffer(4));
self.onmessage = (event) => {
  const wait = event.data - (performance.timeOrigin + performance.now());
  if (wait > 0) Atomics.wait(cell, 0, 0, wait);
  self.postMessage(0);
};
`;

/**
 * Due writes in arrival order, woken by the timer thread. A busy machine wakes
 * a sleeping thread late, so the queue asks to be woken early by the lateness
 * it has been seeing (a moving average), which keeps the mean delay on target.
 */
class DelayQueue {
  readonly #delayMs: number;
  readonly #due: number[] = [];
  readonly #actions: (() => void)[] = [];
  #head = 0;
  #armedFor: number | undefined;
  #leadMs = 0;
  readonly #timer: Worker;

  constructor(delayMs: number) {
    this.#delayMs = delayMs;
    const url = URL.createObjectURL(
      new Blob([TIMER_SOURCE], { type: "application/javascript" }),
    );
    this.#timer = new Worker(url, { type: "module" });
    this.#timer.onmessage = () => {
      const woke = now();
      this.#leadMs += ((woke - this.#armedFor!) - this.#leadMs) / 16;
      this.#armedFor = undefined;
      this.#runDue(woke);
    };
  }

  /** Runs `action` once the delay has passed, after every earlier one. */
  push(action: () => void): void {
    this.#due.push(now() + this.#delayMs);
    this.#actions.push(action);
    if (this.#armedFor === undefined) this.#arm();
  }

  #arm(): void {
    this.#armedFor = this.#due[this.#head] - Math.max(0, this.#leadMs);
    this.#timer.postMessage(this.#armedFor);
  }

  #runDue(t: number): void {
    // Within 20 µs counts as due: another wake-up would cost more than that.
    while (
      this.#head < this.#due.length && this.#due[this.#head] <= t + 0.02
    ) {
      this.#actions[this.#head++]();
    }
    if (this.#head === this.#due.length) {
      this.#due.length = this.#actions.length = this.#head = 0;
    } else {
      if (this.#head > 4096) {
        this.#due.splice(0, this.#head);
        this.#actions.splice(0, this.#head);
        this.#head = 0;
      }
      this.#arm();
    }
  }
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Copies `from` to `to`, each chunk after the queue's delay, in order. */
async function pipe(
  from: Deno.TcpConn,
  to: Deno.TcpConn,
  queue: DelayQueue,
): Promise<void> {
  // Writes run one after another so that chunks reach the peer in order.
  let writing: Promise<unknown> = Promise.resolve();
  const write = (chunk: Uint8Array | null) => () => {
    writing = writing.then(async () => {
      if (chunk === null) return await to.closeWrite();
      let sent = 0;
      while (sent < chunk.length) sent += await to.write(chunk.subarray(sent));
    }).catch(() => {});
  };
  try {
    // One buffer to read into, and a copy of each chunk's bytes to hold: a
    // new 64 KiB buffer for every chunk cost this process a third of its CPU
    // in the 64-connection contention row.
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      const n = await from.read(buffer);
      if (n === null) break;
      queue.push(write(buffer.slice(0, n)));
    }
  } catch {
    // A reset connection ends the pipe like a close does.
  }
  const { promise, resolve } = Promise.withResolvers<void>();
  queue.push(() => {
    write(null)();
    writing.then(() => resolve());
  });
  await promise;
}

async function serve(targetPort: number, oneWayMs: number): Promise<void> {
  const queue = new DelayQueue(oneWayMs);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(listener.addr.port);
  Deno.stdin.readable.pipeTo(new WritableStream()).finally(() => Deno.exit(0));
  for await (const client of listener) {
    Deno.connect({ hostname: "127.0.0.1", port: targetPort }).then(
      (server) => {
        client.setNoDelay(true);
        server.setNoDelay(true);
        Promise.all([
          pipe(client, server, queue),
          pipe(server, client, queue),
        ]).finally(() => {
          try {
            client.close();
            server.close();
          } catch {
            // Already closed.
          }
        });
      },
      () => client.close(),
    );
  }
}

if (import.meta.main) {
  await serve(Number(Deno.args[0]), Number(Deno.args[1]));
}
