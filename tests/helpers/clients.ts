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
import type {
  RedisClientType as RedisClientType5,
  RedisClusterType as RedisClusterType5,
} from "redis5";
import type { Cluster as IoredisCluster, Redis as IoredisRedis } from "ioredis";
import {
  createRedisClient,
  type RedisClient,
  RedisReplyError,
} from "../../mod.ts";
import type { RedisSender } from "../../client.ts";
import {
  type SupportedClient,
  toRedisSender,
} from "../../src/client/adapters/mod.ts";
import { createRedisClusterClient } from "../../src/client/ha.ts";
import type { RedisArg, RedisReply } from "../../src/client/types.ts";

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

/** The parts of the ioredis module the tests use, in either major. */
export interface IoredisModule {
  Redis: typeof IoredisRedis;
  Cluster: typeof IoredisCluster;
}

/**
 * Loads ioredis on demand, the current major (6) or the previous one (5):
 * its `debug` dependency lists every environment variable when imported,
 * which needs unrestricted `--allow-env`.
 */
export async function loadIoredis(major: 5 | 6 = 6): Promise<IoredisModule> {
  try {
    // Both majors' classes have the same shape where the tests touch them.
    return major === 6
      ? await import("ioredis")
      : await import("ioredis5") as unknown as IoredisModule;
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

/**
 * node-redis 6, passed raw and created as its users create it: with the
 * defaults, so it speaks RESP3.
 */
export const NODE_REDIS: ClientKind = {
  name: "node-redis 6",
  async open([url]) {
    const { createClient } = await import("redis");
    const client: RedisClientType = createClient({ url });
    await client.connect();
    return fixture(client, () => client.close());
  },
};

/** node-redis 5, passed raw, with its defaults (RESP2). */
export const NODE_REDIS_5: ClientKind = {
  name: "node-redis 5",
  async open([url]) {
    const { createClient } = await import("redis5");
    const client: RedisClientType5 = createClient({ url });
    await client.connect();
    return fixture(client, () => client.close());
  },
};

function ioredisKind(
  major: 5 | 6,
  name: string,
  options: { replyMapping?: "resp3" } = {},
): ClientKind {
  return {
    name,
    async open([url]) {
      const { Redis } = await loadIoredis(major);
      const client = new Redis(url, { ...options, lazyConnect: true });
      await client.connect();
      return fixture(client, async () => {
        await client.quit();
      });
    },
  };
}

/**
 * ioredis 6, passed raw, with its defaults (RESP3). Importing it needs
 * unrestricted `--allow-env` (see {@link loadIoredis}), so only
 * `adapters_ioredis_test.ts` uses it.
 */
export const IOREDIS: ClientKind = ioredisKind(6, "ioredis 6");

/** ioredis 5, passed raw, with its defaults (RESP2); as {@link IOREDIS}. */
export const IOREDIS_5: ClientKind = ioredisKind(5, "ioredis 5");

/**
 * ioredis 6 with the RESP3 reply mapping a user may choose, under which it
 * hands maps over as objects (integer-like fields first) and doubles as
 * numbers; as {@link IOREDIS}.
 */
export const IOREDIS_RESP3_MAPPING: ClientKind = ioredisKind(
  6,
  'ioredis 6 with replyMapping "resp3"',
  { replyMapping: "resp3" },
);

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
 * permissions: every kind but ioredis, which runs in its own file.
 */
export const SERVER_CLIENTS: readonly ClientKind[] = [
  REDIS_CLIENT,
  NODE_REDIS,
  NODE_REDIS_5,
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
    name: "node-redis 6 cluster",
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

/**
 * node-redis 5's cluster client, kept apart from {@link CLUSTER_CLIENTS} so
 * that only the contracts run over it: it speaks RESP2, as the single
 * node-redis 5 client that every adapter test covers does, and clusters are
 * costly to start.
 */
export const NODE_REDIS_5_CLUSTER: ClientKind = {
  name: "node-redis 5 cluster",
  async open(urls) {
    const { createCluster } = await import("redis5");
    const client: RedisClusterType5 = createCluster({
      rootNodes: urls.map((url) => ({ url })),
    });
    await client.connect();
    return fixture(client, () => client.close());
  },
};
