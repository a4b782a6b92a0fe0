/**
 * Small TCP fakes for what a real redis-server cannot do: go silent, send
 * garbage, speak another protocol, or black-hole a connection that stays open.
 *
 * @module
 */

const encoder = new TextEncoder();

/** A listening fake; dispose of it to close the listener and every connection. */
export interface TcpFake extends AsyncDisposable {
  /** `redis://127.0.0.1:PORT/0`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
}

/**
 * Listens on a free loopback port and runs `handle` for every connection, the
 * connection's number (from 0) as its second argument. The connection is
 * closed when `handle` returns or throws.
 */
export function startTcpFake(
  handle: (conn: Deno.Conn, index: number) => Promise<void>,
): TcpFake {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const handlers: Promise<void>[] = [];
  let accepted = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      const index = accepted++;
      handlers.push((async () => {
        try {
          await handle(conn, index);
        } catch {
          // The client hung up, which is the point of most fakes.
        } finally {
          open.delete(conn);
          closeQuietly(conn);
        }
      })());
    }
  })().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    get accepted() {
      return accepted;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of open) closeQuietly(conn);
      await Promise.all(handlers);
    },
  };
}

/** Reads and drops everything until the peer hangs up. */
export async function drain(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  while ((await conn.read(buf)) !== null) {
    // Dropped.
  }
}

/** Answers every chunk read with `+PONG`, as a server answering one PING. */
export async function pong(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  while ((await conn.read(buf)) !== null) {
    await conn.write(encoder.encode("+PONG\r\n"));
  }
}

/** A proxy to a real server that can black-hole the connections it holds. */
export interface BlackholeProxy extends TcpFake {
  /**
   * From now on the connections open now forward nothing either way, yet stay
   * open, as behind a dead NAT entry; later connections forward normally.
   */
  blackhole(): void;
}

/**
 * Starts a TCP proxy in front of `127.0.0.1:upstreamPort`.
 *
 * @param upstreamPort The real server's port.
 */
export function startBlackholeProxy(upstreamPort: number): BlackholeProxy {
  const live = new Set<{ dead: boolean }>();
  const fake = startTcpFake(async (client) => {
    const upstream = await Deno.connect({
      hostname: "127.0.0.1",
      port: upstreamPort,
    });
    const state = { dead: false };
    live.add(state);
    const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
      const buf = new Uint8Array(64 * 1024);
      while (true) {
        const n = await from.read(buf);
        if (n === null) return;
        if (state.dead) continue;
        let written = 0;
        while (written < n) {
          written += await to.write(buf.subarray(written, n));
        }
      }
    };
    try {
      await Promise.race([pipe(client, upstream), pipe(upstream, client)]);
    } finally {
      closeQuietly(upstream);
    }
  });
  return Object.assign(Object.create(fake) as TcpFake, {
    url: fake.url,
    port: fake.port,
    blackhole() {
      for (const state of live) state.dead = true;
      live.clear();
    },
    [Symbol.asyncDispose]: () => fake[Symbol.asyncDispose](),
  });
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}
