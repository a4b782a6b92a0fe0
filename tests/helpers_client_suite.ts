/**
 * Runs the storage and subject behaviour suite, unchanged, over any kind of
 * client: one server (or cluster) per client kind, each suite test a step
 * with a key prefix of its own.
 *
 * @module
 */
import { createRedisStorage } from "../mod.ts";
import {
  type Backend,
  defineBehaviourSuite,
} from "./helpers_behaviour_suite.ts";
import type { ClientFixture, ClientKind } from "./helpers_clients.ts";

/**
 * Registers one test that runs the whole behaviour suite over `kind`, on the
 * server or cluster `start` provides.
 */
export function behaviourSuiteOver(
  kind: ClientKind,
  start: () => Promise<AsyncDisposable & { urls: readonly string[] }>,
): void {
  const cases: { name: string; fn: () => Promise<void> }[] = [];
  let urls: readonly string[] = [];
  let tests = 0;
  defineBehaviourSuite(
    kind.name,
    async (): Promise<Backend> => {
      const keyPrefix = `suite${tests++}:`;
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
  Deno.test(`the behaviour suite passes over ${kind.name}`, async (t) => {
    await using target = await start();
    urls = target.urls;
    for (const { name, fn } of cases) await t.step(name, fn);
  });
}
