/**
 * Opening a connection: the socket (TCP, then TLS for `rediss://`) within
 * `connectTimeoutMs`, and the handshake (`AUTH`, `SELECT`, `CLIENT SETNAME`
 * and `PING` in one write). Its errors say what the peer did instead and
 * what to try.
 *
 * @module
 */

import type { Connection } from "./_connection.ts";
import type { Settings } from "./_options.ts";
import { escapeBytes } from "./_scrub.ts";
import {
  RedisConnectionError,
  RedisReplyError,
  RedisTimeoutError,
} from "./errors.ts";
import { ProtocolError } from "./resp.ts";
import type { RedisReply } from "./types.ts";
import type { RedisEndpoint } from "./url.ts";

/** Handshake refusals that a later attempt may not get: the server is starting or busy. */
export const RETRYABLE: ReadonlySet<string> = new Set([
  "LOADING",
  "BUSY",
  "MASTERDOWN",
  "TRYAGAIN",
]);

/**
 * Opens the socket to `endpoint`, with TLS when its URL says `rediss://`,
 * within `connectTimeoutMs`.
 *
 * @param endpoint The server.
 * @param settings The client's settings (timeout, CA certificates).
 * @param closing Aborts when the client closes.
 * @returns The socket, its TLS certificate verified.
 * @throws {RedisConnectionError} when it cannot connect in time.
 */
export async function openSocket(
  endpoint: RedisEndpoint,
  settings: Settings,
  closing: AbortSignal,
): Promise<Deno.Conn> {
  const { hostname, port, tls } = endpoint;
  const { connectTimeoutMs } = settings;
  // AbortSignal.timeout rather than setTimeout: the first setTimeout of a
  // process costs milliseconds of lazy set-up, which a cold worker would
  // pay before its first reply. The signal's timer keeps nothing alive.
  const timeout = AbortSignal.timeout(connectTimeoutMs);
  const signal = AbortSignal.any([timeout, closing]);
  let handshaking = false;
  try {
    // TCP_NODELAY is Deno's default, which a request/reply protocol wants.
    const tcp = await abortable(Deno.connect({ hostname, port }), signal);
    // Keepalive probes let the kernel notice a peer that vanished while the
    // connection was idle.
    tcp.setKeepAlive(true);
    if (!tls) return tcp;
    handshaking = true;
    // TLS over the socket set up above: Deno.connectTls has no keepalive.
    const tlsConn = await abortable(
      Deno.startTls(tcp, { hostname, caCerts: settings.caCerts }),
      signal,
      tcp,
    );
    // Verify the certificate now, so a bad one fails the connect, not a command.
    await abortable(tlsConn.handshake(), signal, tlsConn);
    return tlsConn;
  } catch (cause) {
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    let why = !timeout.aborted
      ? message(cause)
      : handshaking
      ? `no TLS handshake within ${connectTimeoutMs} ms`
      : `no connection within ${connectTimeoutMs} ms`;
    if (
      handshaking && (timeout.aborted || !/certificate|issuer/i.test(why))
    ) {
      why += "; the server may not speak TLS; use redis://";
    }
    throw new RedisConnectionError(
      `Cannot connect to ${endpoint.redacted}: ${why}`,
      { cause },
    );
  }
}

/**
 * Sends `AUTH`, `SELECT` and `CLIENT SETNAME` as needed, then `PING`, all
 * in one write: the `PONG` proves the peer speaks Redis, at no extra round
 * trip. On failure it closes `conn`.
 *
 * @param conn The new connection.
 * @param endpoint The server, with the credentials and database of its URL.
 * @param settings The client's settings (client name, connect timeout).
 * @param deadline `performance.now()` by which the handshake must be done.
 * @throws {RedisReplyError} when the server refuses a step.
 * @throws {RedisConnectionError} when the peer does not answer as Redis does.
 */
export async function handshake(
  conn: Connection,
  endpoint: RedisEndpoint,
  settings: Settings,
  deadline: number,
): Promise<void> {
  let pong: RedisReply;
  try {
    pong = await greet(conn, endpoint, settings.clientName, deadline);
  } catch (error) {
    await conn.close();
    throw handshakeError(error, conn, endpoint, settings.connectTimeoutMs);
  }
  if (pong !== "PONG") {
    await conn.close();
    throw new RedisConnectionError(
      `Cannot connect to ${endpoint.redacted}: the peer answered PING with ${
        conn.scrub(JSON.stringify(pong))
      }, not "PONG"; is this a Redis port?`,
    );
  }
}

async function greet(
  conn: Connection,
  endpoint: RedisEndpoint,
  clientName: string | undefined,
  deadline: number,
): Promise<RedisReply> {
  const { username, password, db } = endpoint;
  const steps: Promise<RedisReply>[] = [];
  const names: string[] = [];
  if (password !== undefined) {
    steps.push(
      conn.send(
        username === undefined
          ? ["AUTH", password]
          : ["AUTH", username, password],
        deadline,
      ),
    );
    names.push("AUTH");
  }
  if (db !== 0) {
    steps.push(conn.send(["SELECT", db], deadline));
    names.push("SELECT");
  }
  if (clientName !== undefined) {
    steps.push(conn.send(["CLIENT", "SETNAME", clientName], deadline));
    names.push("CLIENT SETNAME");
  }
  steps.push(conn.send(["PING"], deadline));
  names.push("PING");
  const results = await Promise.allSettled(steps);
  for (const [i, result] of results.entries()) {
    if (result.status === "fulfilled") continue;
    const error = result.reason;
    if (error instanceof RedisReplyError) {
      // A newcomer's URL often lacks the password the server asks for.
      const hint = error.code === "NOAUTH" && password === undefined
        ? " (the server requires a password; put the password in the URL: redis://:password@host)"
        : "";
      throw new RedisReplyError(error.reply, {
        context: `${names[i]} failed on ${endpoint.redacted}${hint}`,
        cause: error,
      });
    }
    throw error;
  }
  return (results.at(-1) as PromiseFulfilledResult<RedisReply>).value;
}

/** Says what the peer did instead of completing the handshake, and what to try. */
function handshakeError(
  error: unknown,
  conn: Connection,
  endpoint: RedisEndpoint,
  connectTimeoutMs: number,
): unknown {
  const { tls, redacted: url } = endpoint;
  const tryTls = tls ? "" : " If the server speaks TLS, use rediss://.";
  if (error instanceof RedisTimeoutError) {
    return new RedisConnectionError(
      `Cannot connect to ${url}: the peer accepted the connection but did not answer PING within ${connectTimeoutMs} ms. Is this a Redis port?${tryTls}`,
      { cause: error },
    );
  }
  if (!(error instanceof RedisConnectionError)) return error;
  if (!(error.cause instanceof ProtocolError) || conn.seen === null) {
    return new RedisConnectionError(
      `Cannot connect to ${url}: the connection ended before the peer answered (${error.message}).${tryTls}`,
      { cause: error },
    );
  }
  const seen = conn.seen;
  const hint = !tls && (seen[0] === 0x15 || seen[0] === 0x16)
    ? " The server speaks TLS; use rediss://."
    : " Is this a Redis port?";
  return new RedisConnectionError(
    `Cannot connect to ${url}: the peer answered ${
      JSON.stringify(conn.scrub(firstLine(seen)))
    }, which is not the Redis protocol.${hint}`,
    { cause: error },
  );
}

/** The first line of what a peer sent, printable, for a message. */
function firstLine(bytes: Uint8Array): string {
  let end = bytes.findIndex((b) => b === 13 || b === 10);
  if (end === -1) end = bytes.length;
  const text = escapeBytes(bytes.subarray(0, Math.min(end, 60)));
  return end > 60 ? text + "…" : text;
}

/**
 * The message of an error, or the text of anything else thrown.
 *
 * @param error What was thrown.
 * @returns Its text.
 */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Settles with `promise`, or rejects when `signal` aborts; a late socket is closed. */
function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  owned?: Deno.Conn,
): Promise<T> {
  if (signal.aborted) {
    promise.then((v) => closeQuietly(owned ?? v), () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    let lost = false;
    const onAbort = () => {
      lost = true;
      if (owned) closeQuietly(owned);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        if (lost) closeQuietly(owned ?? value);
        else resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        if (!lost) reject(error);
      },
    );
  });
}

function closeQuietly(value: unknown): void {
  try {
    (value as Deno.Conn | undefined)?.close?.();
  } catch {
    // Already closed.
  }
}
