/**
 * Every kind of client the module accepts, opened the same way, so the same
 * tests can run over all of them:
 *
 * ```ts ignore
 * for (const kind of SERVER_CLIENTS) {
 *   Deno.test(`${kind.name}: store is atomic`, async () => {
 *     await using server = await startRedisServer();
 *     await using fixture = await kind.open([server.url]);
 *     const storage = createRedisStorage(fixture.client);
 *     // …
 *   });
 * }
 * ```
 *
 * Third-party clients are passed raw, so `createRedisStorage` recognising
 * them by shape is exercised too; `fixture.commands` is the adapted port.
 *
 * @module
 */

import type { RedisClientType, RedisClusterType } from "redis";
import type { Cluster as IoredisCluster, Redis as IoredisRedis } from "ioredis";
import {
  createRedisClient,
  type RedisClient,
  RedisReplyError,
} from "../mod.ts";
import type { RedisSender } from "../client.ts";
import {
  type SupportedClient,
  toRedisSender,
} from "../src/client/adapters/mod.ts";
import { createRedisClusterClient } from "../src/client/cluster.ts";
import type { RedisArg, RedisReply } from "../src/client/types.ts";

/** An open client of one kind; disposing of it closes the client. */
export interface ClientFixture extends AsyncDisposable {
  /** The client as its users hold it: raw node-redis, ioredis, … */
  readonly client: RedisSender | SupportedClient;
  /** The same client as a port, via `toRedisSender`. */
  readonly commands: RedisSender;
}

/** A way to open a client to a server (one URL) or a cluster (its node URLs). */
export interface ClientKind {
  readonly name: string;
  open(urls: readonly string[]): Promise<ClientFixture>;
}

function fixture(
  client: RedisSender | SupportedClient,
  close: () => Promise<void>,
): ClientFixture {
  return {
    client,
    commands: toRedisSender(client),
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Loads ioredis on demand: its `debug` dependency lists every environment
 * variable when imported, which needs unrestricted `--allow-env`.
 */
export async function loadIoredis(): Promise<
  { Redis: typeof IoredisRedis; Cluster: typeof IoredisCluster }
> {
  try {
    return await import("ioredis");
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new Error(
        "ioredis needs unrestricted --allow-env: its debug dependency reads Object.keys(process.env) on import.",
        { cause: error },
      );
    }
    throw error;
  }
}

/** What `@db/redis` throws for an error reply; its message keeps RESP's "-". */
export class ErrorReplyError extends Error {}

/**
 * A stand-in for an `@db/redis` client (which cannot be installed here) with
 * its public shape: `sendCommand(command, args)`, `isConnected`, `isClosed`,
 * `close()`, error replies thrown as `ErrorReplyError("-ERR …")`. It forwards
 * to this module's client, so `fromDenoRedis`'s own code path is what runs.
 */
export class DenoRedisStandIn {
  readonly executor: { readonly client: RedisClient };

  constructor(client: RedisClient) {
    this.executor = { client };
  }

  get isConnected(): boolean {
    return !this.executor.client.closed;
  }

  get isClosed(): boolean {
    return this.executor.client.closed;
  }

  async sendCommand(
    command: string,
    args: RedisArg[] = [],
  ): Promise<RedisReply> {
    try {
      return await this.executor.client.send([command, ...args]);
    } catch (error) {
      if (error instanceof RedisReplyError) {
        throw new ErrorReplyError(
          "-" + error.reply,
        );
      }
      throw error;
    }
  }

  close(): Promise<void> {
    return this.executor.client.close();
  }
}

/** This module's own client. */
export const REDIS_CLIENT: ClientKind = {
  name: "RedisClient",
  async open([url]) {
    const client = await createRedisClient(url);
    return fixture(client, () => client.close());
  },
};

/** node-redis, passed raw. */
export const NODE_REDIS: ClientKind = {
  name: "node-redis",
  async open([url]) {
    const { createClient } = await import("redis");
    const client: RedisClientType = createClient({ url });
    await client.connect();
    return fixture(client, () => client.close());
  },
};

/**
 * ioredis, passed raw. Importing it needs unrestricted `--allow-env` (see
 * {@link loadIoredis}), so only `adapters_ioredis_test.ts` uses it.
 */
export const IOREDIS: ClientKind = {
  name: "ioredis",
  async open([url]) {
    const { Redis } = await loadIoredis();
    const client: IoredisRedis = new Redis(url, { lazyConnect: true });
    await client.connect();
    return fixture(client, async () => {
      await client.quit();
    });
  },
};

/** The `@db/redis` stand-in, passed raw. */
export const DENO_REDIS_STAND_IN: ClientKind = {
  name: "@db/redis (stand-in)",
  async open([url]) {
    const client = new DenoRedisStandIn(await createRedisClient(url));
    return fixture(client, () => client.close());
  },
};

/**
 * Client kinds for one standalone server that load under the test task's
 * permissions: every kind but {@link IOREDIS}, which runs in its own file.
 */
export const SERVER_CLIENTS: readonly ClientKind[] = [
  REDIS_CLIENT,
  NODE_REDIS,
  DENO_REDIS_STAND_IN,
];

/** Client kinds for a cluster, given its nodes' URLs. */
export const CLUSTER_CLIENTS: readonly ClientKind[] = [
  {
    name: "RedisClusterClient",
    async open(urls) {
      const client = await createRedisClusterClient(urls);
      return fixture(client, () => client.close());
    },
  },
  {
    name: "node-redis cluster",
    async open(urls) {
      const { createCluster } = await import("redis");
      const client: RedisClusterType = createCluster({
        rootNodes: urls.map((url) => ({ url })),
      });
      await client.connect();
      return fixture(client, () => client.close());
    },
  },
];
