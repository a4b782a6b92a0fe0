/**
 * Runs the storage and subject behaviour suite, unchanged, over any kind of
 * client: one server (or cluster) per client kind, each suite test a step
 * with a key prefix of its own.
 *
 * @module
 */
import { createRedisClient, createRedisStorage } from "../mod.ts";
import { type Backend, defineBehaviourSuite } from "./storage_contract.ts";
import type { ClientFixture, ClientKind } from "./helpers_clients.ts";

/**
 * Every key this run creates starts with `s:{RUN}:`, so a run against a
 * shared server (REDIS_URL) can find and delete exactly its own keys.
 */
export const RUN = `test-${crypto.randomUUID().slice(0, 8)}`;

/**
 * The server at REDIS_URL as a suite target: nothing is started, and on
 * disposal every key of this run is deleted (SCAN, never KEYS or FLUSHDB).
 */
export async function sharedServer(
  url: string,
): Promise<AsyncDisposable & { urls: readonly string[] }> {
  const client = await createRedisClient(url);
  return {
    urls: [url],
    async [Symbol.asyncDispose]() {
      try {
        let cursor = "0";
        do {
          const [next, keys] = await client.send([
            "SCAN",
            cursor,
            "MATCH",
            `s:${RUN}:*`,
            "COUNT",
            1000,
          ]) as [string, string[]];
          cursor = next;
          if (keys.length > 0) await client.send(["DEL", ...keys]);
        } while (cursor !== "0");
      } finally {
        await client.close();
      }
    },
  };
}

/**
 * Registers one test that runs the whole behaviour suite over `kind`, on the
 * server or cluster `start` provides.
 */
export function behaviourSuiteOver(
  kind: ClientKind,
  start: () => Promise<AsyncDisposable & { urls: readonly string[] }>,
  label = kind.name,
): void {
  const cases: { name: string; fn: () => Promise<void> }[] = [];
  let urls: readonly string[] = [];
  let tests = 0;
  defineBehaviourSuite(
    label,
    async (): Promise<Backend> => {
      const keyPrefix = `${RUN}:suite${tests++}:`;
      const fixtures: ClientFixture[] = [];
      const open = async () => {
        const fixture = await kind.open(urls);
        fixtures.push(fixture);
        // The raw client: createRedisStorage must recognise it by its shape.
        return createRedisStorage(fixture.client, { keyPrefix });
      };
      const storage = await open();
      return {
        storage,
        persistent: true,
        reopen: open,
        async [Symbol.asyncDispose]() {
          for (const fixture of fixtures) {
            await fixture[Symbol.asyncDispose]();
          }
        },
      };
    },
    (name, fn) => cases.push({ name, fn }),
  );
  Deno.test(`the behaviour suite passes over ${label}`, async (t) => {
    await using target = await start();
    urls = target.urls;
    for (const { name, fn } of cases) await t.step(name, fn);
  });
}
