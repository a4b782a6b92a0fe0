import assert from "node:assert/strict";
import { createRedisStorage, KRules } from "../mod.ts";
import { startRedisCluster } from "../testing.ts";
import { registerContractsOver } from "./contracts.ts";
import { CLUSTER_CLIENTS } from "./helpers_clients.ts";

for (const kind of CLUSTER_CLIENTS) {
  registerContractsOver(kind, () => startRedisCluster({ masters: 3 }));
}

for (const kind of CLUSTER_CLIENTS) {
  Deno.test(`${kind.name}: 4 clients × 250 concurrent function increments of one property end at exactly 1000`, async () => {
    await using cluster = await startRedisCluster({ masters: 3 });
    const fixtures = await Promise.all(
      Array.from({ length: 4 }, () => kind.open(cluster.urls)),
    );
    try {
      const increment = (n: unknown) => (typeof n === "number" ? n : 0) + 1;
      const results = await Promise.all(
        fixtures.flatMap((fixture) => {
          const krules = new KRules({
            storage: createRedisStorage(fixture.client),
          });
          return Array.from(
            { length: 250 },
            () =>
              krules.subject("hot").set("count", increment, {
                useCache: false,
              }),
          );
        }),
      );
      // Every caller saw its own step: new values 1..1000, each exactly once.
      assert.deepEqual(
        results.map(([value]) => value as number).sort((a, b) => a - b),
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );
      const krules = new KRules({
        storage: createRedisStorage(fixtures[0].client),
      });
      assert.equal(await krules.subject("hot").get("count"), 1000);
    } finally {
      for (const fixture of fixtures) await fixture[Symbol.asyncDispose]();
    }
  });
}
