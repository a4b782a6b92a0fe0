/**
 * Cluster row of `deno task bench`: concurrent subject reads on a 3-master
 * cluster through this module's storage, over the native cluster client and
 * over node-redis `createCluster`.
 *
 * @module
 */

import { createCluster } from "redis";
import {
  createRedisClusterClient,
  createRedisStorage,
  KRules,
  type StorageFactory,
} from "../mod.ts";
import { SubjectProperty } from "../storage.ts";
import { startRedisCluster } from "../testing.ts";
import { alternate, median, pool, type Row } from "./_table.ts";

const SUBJECTS = 10_000;
const READS = 100_000;
const IN_FLIGHT = 256;

function reads(storage: StorageFactory): Promise<number> {
  const krules = new KRules({ storage });
  return pool(
    READS,
    IN_FLIGHT,
    (i) =>
      krules.subject(`u${(i * 7919) % SUBJECTS}`).get("score", {
        useCache: false,
      }),
  );
}

/** Median reads/s of both cluster clients on a fresh 3-master cluster. */
export async function benchCluster(runs = 3): Promise<Row> {
  await using cluster = await startRedisCluster({ masters: 3 });
  await using native = await createRedisClusterClient(cluster.urls);
  const nodeRedis = createCluster({
    rootNodes: cluster.urls.map((url) => ({ url })),
  });
  await nodeRedis.connect();
  try {
    const ours = createRedisStorage(native, { keyPrefix: "bench:" });
    const theirs = createRedisStorage(nodeRedis, { keyPrefix: "bench:" });
    await Promise.all(
      Array.from(
        { length: SUBJECTS },
        (_, i) => ours(`u${i}`).set(new SubjectProperty("score", i)),
      ),
    );
    await reads(ours);
    await reads(theirs);
    const results = await alternate(runs, {
      ours: () => reads(ours),
      theirs: () => reads(theirs),
    });
    return {
      scenario: "cluster: subject.get, 3 masters, 256 in flight (ops/s)",
      ours: median(results.ours),
      baselines: { "node-redis createCluster": median(results.theirs) },
      target: 1.0,
      note:
        "get with useCache: false; both through this module's storage, only the client differs",
    };
  } finally {
    await nodeRedis.close();
  }
}
