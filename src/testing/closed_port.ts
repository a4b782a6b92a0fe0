/**
 * A loopback port where nothing listens, for tests of connection failures.
 *
 * @module
 */

/**
 * Privileged ports without a common service: an unprivileged process cannot
 * listen on them, the throwaway servers take ports from 20,000 up, and the
 * operating system never hands them out as the local port of an outgoing
 * connection (ephemeral ranges start at 32,768 or higher).
 */
const CANDIDATES = [1, 3, 5, 7, 9, 11, 13, 17, 19] as const;

/**
 * A port on 127.0.0.1 that refuses connections, and stays refusing.
 *
 * Unlike a port taken with `listen(0)` and released, which comes from the
 * ephemeral range and can be reused at any moment by an outgoing connection
 * or another listener, this is a privileged port checked to refuse a
 * connection now.
 *
 * @returns The port.
 * @throws {Error} When every candidate port has a listener.
 */
export async function closedPort(): Promise<number> {
  for (const port of CANDIDATES) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionRefused) return port;
      throw error;
    }
  }
  throw new Error(
    `Every candidate closed port (${
      CANDIDATES.join(", ")
    }) on 127.0.0.1 has a listener; stop the service on one of them.`,
  );
}
