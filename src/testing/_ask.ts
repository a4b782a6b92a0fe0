/**
 * One-off commands to a throwaway server, for the helpers that wait on what a
 * server reports.
 *
 * @module
 */

import { RedisClient } from "../client/client.ts";
import type { RedisArg, RedisReply } from "../client/types.ts";
import type { RedisServer } from "./redis_server.ts";

/**
 * Sends one command to `server` on a connection of its own, which is closed
 * afterwards; a paused server makes it reject after `timeoutMs`.
 *
 * @param server The server to ask.
 * @param args The command.
 * @param password The server's password, if it needs one.
 * @param timeoutMs Connect and reply timeout.
 * @returns The reply.
 */
export async function ask(
  server: RedisServer,
  args: readonly RedisArg[],
  password?: string,
  timeoutMs = 1000,
): Promise<RedisReply> {
  // Cluster nodes and Sentinels have no database to select.
  let url = server.url.replace(/\/0$/, "");
  if (password !== undefined) {
    url = url.replace("://", `://:${encodeURIComponent(password)}@`);
  }
  const client = new RedisClient(url, {
    reconnect: false,
    connectTimeoutMs: timeoutMs,
    commandTimeoutMs: timeoutMs,
  });
  try {
    return await client.send(args);
  } finally {
    await client.close();
  }
}
