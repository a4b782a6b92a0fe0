/**
 * Throwaway Redis servers and clients for the storage and subject tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createRedisClient,
  type RedisClient,
} from "../../src/client/client.ts";
import { RedisError } from "../../src/client/errors.ts";
import type {
  RedisArg,
  RedisReply,
  RedisSender,
} from "../../src/client/types.ts";
import {
  type RedisServer,
  startRedisServer,
} from "../../src/testing/redis_server.ts";

/** A server plus clients on it; disposing closes every client, then stops the server. */
export interface RedisFixture extends AsyncDisposable {
  readonly server: RedisServer;
  /** The first client, for the code under test. */
  readonly client: RedisClient;
  /** Opens another connection (closed with the fixture), e.g. for a concurrent reader. */
  connect(): Promise<RedisClient>;
}

/** Starts a redis-server on a free port with one connected client. */
export async function startRedisFixture(): Promise<RedisFixture> {
  const server = await startRedisServer();
  const clients: RedisClient[] = [];
  const connect = async (): Promise<RedisClient> => {
    const client = await createRedisClient(server.url);
    clients.push(client);
    return client;
  };
  try {
    const client = await connect();
    return {
      server,
      client,
      connect,
      async [Symbol.asyncDispose]() {
        await Promise.all(clients.map((c) => c.close()));
        await server.stop();
      },
    };
  } catch (error) {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
    throw error;
  }
}

/** A port that forwards to a real client and records every command sent. */
export interface RecordingCommands extends RedisSender {
  /** Every command sent so far, in order. */
  readonly log: RedisArg[][];
}

/**
 * Wraps a real client so a test can count round trips and inspect the
 * commands, while every command still runs on the real server.
 *
 * @param inner The client that executes the commands.
 * @param beforeSend Runs (and is awaited) before each command is forwarded,
 *   to inject a real concurrent write at an exact point.
 */
export function recording(
  inner: RedisSender,
  beforeSend?: (args: readonly RedisArg[]) => Promise<void> | void,
): RecordingCommands {
  const log: RedisArg[][] = [];
  return {
    log,
    async send(args: readonly RedisArg[]): Promise<RedisReply> {
      log.push([...args]);
      if (beforeSend !== undefined) await beforeSend(args);
      return await inner.send(args);
    },
  };
}

/**
 * What `promise` rejected with, which must be a `RedisError`.
 *
 * @param promise A write expected to fail.
 * @returns Its error, for the test to check `executed` and the rest.
 */
export async function redisFailure(
  promise: Promise<unknown>,
): Promise<RedisError> {
  const error = await promise.then(
    () => assert.fail("expected the write to fail"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof RedisError, String(error));
  return error;
}
