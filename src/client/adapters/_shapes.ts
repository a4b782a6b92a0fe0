/**
 * The shapes of the clients the adapters take: the parts each adapter uses,
 * and how each client is recognised by them alone. In a module of its own,
 * so that `toRedisSender` can tell the clients apart without loading the
 * adapters, which a program on this module's own client never needs.
 *
 * @module
 */

/**
 * The part of a node-redis v5 or v6 client (`createClient()` from
 * `npm:redis`) that {@linkcode fromNodeRedis} uses.
 */
export interface NodeRedisClient {
  /** Sends one command given as strings and buffers. */
  sendCommand(
    args: ReadonlyArray<string | Uint8Array>,
    options?: unknown,
  ): Promise<unknown>;
  /** Whether the socket is open; used to recognise the client. */
  readonly isOpen: boolean;
  /** Whether the client is ready for commands; used to recognise the client. */
  readonly isReady: boolean;
}

/**
 * The part of a node-redis v5 or v6 cluster client (`createCluster()` from
 * `npm:redis`) that {@linkcode fromNodeRedis} uses. Its `sendCommand` takes
 * the routing key first.
 */
export interface NodeRedisCluster {
  /** Sends one command to the master that owns `firstKey`'s slot. */
  sendCommand(
    firstKey: string | Uint8Array | undefined,
    isReadonly: boolean | undefined,
    args: Array<string | Uint8Array>,
    options?: unknown,
  ): Promise<unknown>;
  /** Whether the cluster client is open; used to recognise it. */
  readonly isOpen: boolean;
  /** The cluster's masters; used to tell a cluster from a single client. */
  readonly masters: readonly unknown[];
}

/**
 * The part of an ioredis v5 or v6 client (`new Redis()` or `new Cluster()`
 * from `npm:ioredis`) that {@linkcode fromIoredis} uses.
 */
export interface IoredisClient {
  /**
   * Sends any command: `call("HGET", key, field)`. Binary arguments are
   * passed as `Buffer`s, which ioredis accepts wherever it takes strings.
   */
  call(command: string, ...args: string[]): Promise<unknown>;
  /** The connection status (`"ready"`, `"connecting"`, …); used to recognise the client. */
  readonly status: string;
}

/**
 * The part of an `@db/redis` client (`connect()` from `jsr:@db/redis`) that
 * {@linkcode fromDenoRedis} uses. Its cluster client is refused: see
 * {@linkcode fromDenoRedis}.
 */
export interface DenoRedisClient {
  /** Sends one command: `sendCommand("HGET", [key, field])`. */
  sendCommand(
    command: string,
    args?: (string | number | Uint8Array)[],
  ): Promise<unknown>;
  /** Whether the connection is up; used to recognise the client. */
  readonly isConnected: boolean;
}

/**
 * Whether `client` looks like an ioredis `Redis` or `Cluster`. Checked before
 * the others: ioredis clients also have a (Command-object) `sendCommand`.
 *
 * @param client Any object.
 * @returns `true` for ioredis.
 */
export function isIoredis(client: object): client is IoredisClient {
  const shape = client as Record<string, unknown>;
  return typeof shape.call === "function" && typeof shape.status === "string";
}

/**
 * Whether `client` looks like a node-redis client or cluster client.
 *
 * @param client Any object with a `sendCommand` method.
 * @returns `true` for node-redis.
 */
export function isNodeRedis(
  client: object,
): client is NodeRedisClient | NodeRedisCluster {
  return "isOpen" in client &&
    (isNodeRedisCluster(client) || "isReady" in client);
}

/** Whether a node-redis client is a cluster client (`createCluster()`). */
export function isNodeRedisCluster(client: object): client is NodeRedisCluster {
  return typeof (client as Partial<NodeRedisCluster>).sendCommand ===
      "function" && "masters" in client && "isOpen" in client;
}

/**
 * Whether `client` looks like an `@db/redis` client, single or cluster.
 *
 * @param client Any object with a `sendCommand` method.
 * @returns `true` for `@db/redis`.
 */
export function isDenoRedis(client: object): client is DenoRedisClient {
  return "isConnected" in client;
}

/**
 * Whether an `@db/redis` client is its experimental cluster client: one whose
 * command executor is a `ClusterExecutor`, which has no single connection, so
 * reading `isConnected` throws.
 */
export function isDenoRedisCluster(client: DenoRedisClient): boolean {
  const executor = (client as { executor?: unknown }).executor;
  if (
    typeof executor === "object" && executor !== null &&
    executor.constructor?.name === "ClusterExecutor"
  ) {
    return true;
  }
  try {
    void client.isConnected;
    return false;
  } catch {
    return true;
  }
}

/** The `TypeError` for `@db/redis`'s cluster client: why, and what to use instead. */
export function denoRedisClusterRefused(): TypeError {
  return new TypeError(
    "@db/redis's cluster client is not supported: it routes every command by its second word, " +
      "which for EVAL and EVALSHA is the script, not the key, so the storage's atomic writes end in " +
      '"Too many Cluster redirections". Connect with createRedisClusterClient(seedUrls) from ' +
      "@x/redis-subjects instead.",
  );
}
