/**
 * Free ports for throwaway servers.
 *
 * @module
 */

/** Below Linux's and macOS's ephemeral ranges (32768+ and 49152+). */
const LOW = 20_000;
const HIGH = 32_000;

/**
 * A TCP port that is free on the loopback interface right now, chosen below
 * the operating systems' ephemeral ranges. A port the OS hands out for
 * `listen(0)` comes from that range, and once released it can be taken at
 * any moment as the local port of some outgoing connection; a port outside
 * it can only be taken by another listener.
 *
 * @returns The port.
 */
export function freePort(): number {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return listener.addr.port;
}

/** Whether a server's start-up output says its port was taken. */
export function portWasTaken(error: unknown): boolean {
  return error instanceof Error &&
    error.message.includes("Address already in use");
}
