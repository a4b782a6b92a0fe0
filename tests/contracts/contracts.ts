/**
 * Registers the storage and subject contracts over a backend:
 *
 * - {@link registerContracts}: every contract test as a test of its own, on
 *   a backend opened fresh for it (memory, or a Redis server per test);
 * - {@link registerContractsOver}: one test per contract and client kind,
 *   on one server (or cluster) that the test starts, each contract test a
 *   step with a key prefix of its own.
 *
 * @module
 */
import { createRedisClient, createRedisStorage } from "../../mod.ts";
import type { ClientFixture, ClientKind } from "../helpers/clients.ts";
import {
  type BackendOpener,
  type Contract,
  STORAGE_CONTRACT,
} from "./storage_contract.ts";
import { SUBJECT_CONTRACT } from "./subject_contract.ts";

/** Each contract under its name. */
export const CONTRACTS: readonly (readonly [string, Contract])[] = [
  ["storage contract", STORAGE_CONTRACT],
  ["subject contract", SUBJECT_CONTRACT],
];

/**
 * Every key this run creates starts with `s:{RUN}:`, so a run against a
 * shared server (REDIS_URL) can find and delete exactly its own keys.
 */
export const RUN = `test-${crypto.randomUUID().slice(0, 8)}`;

/** Registers every test of every contract as a `Deno.test` over `open`. */
export function registerContracts(label: string, open: BackendOpener): void {
  for (const [contract, tests] of CONTRACTS) {
    for (const [name, test] of Object.entries(tests)) {
      Deno.test(`${contract} (${label}): ${name}`, async () => {
        await using backend = await open();
        await test(backend);
      });
    }
  }
}

/** A server or cluster the contracts run on; disposing of it stops it. */
export type Target = AsyncDisposable & { readonly urls: readonly string[] };

/**
 * Registers one test per contract that starts a target with `start` and runs
 * each of the contract's tests as a step over `kind`, under a key prefix of
 * the step's own.
 */
export function registerContractsOver(
  kind: ClientKind,
  start: () => Promise<Target>,
  label: string = kind.name,
): void {
  for (const [contract, tests] of CONTRACTS) {
    Deno.test(`the ${contract} holds over ${label}`, async (t) => {
      await using target = await start();
      const open = redisBackend(kind, target.urls);
      for (const [name, test] of Object.entries(tests)) {
        await t.step(name, async () => {
          await using backend = await open();
          await test(backend);
        });
      }
    });
  }
}

/**
 * Opens Redis backends through `kind` on `urls`, each under a fresh key
 * prefix of this run. The raw client is passed, so `createRedisStorage`
 * recognising it by its shape is exercised too.
 */
function redisBackend(
  kind: ClientKind,
  urls: readonly string[],
): BackendOpener {
  return async () => {
    const keyPrefix = `${RUN}:${crypto.randomUUID().slice(0, 8)}:`;
    const fixtures: ClientFixture[] = [];
    const open = async () => {
      const fixture = await kind.open(urls);
      fixtures.push(fixture);
      return createRedisStorage(fixture.client, { keyPrefix });
    };
    return {
      storage: await open(),
      persistent: true,
      reopen: open,
      async [Symbol.asyncDispose]() {
        for (const fixture of fixtures) await fixture[Symbol.asyncDispose]();
      },
    };
  };
}

/**
 * The server at REDIS_URL as a target: nothing is started, and on disposal
 * every key of this run is deleted (SCAN, never KEYS or FLUSHDB).
 */
export async function sharedServer(url: string): Promise<Target> {
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
