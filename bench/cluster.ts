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
  SubjectProperty,
} from "../mod.ts";
import { startRedisCluster } from "../testing.ts";
import { median, pool, type Row } from "./_table.ts";

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
export async function benchCluster(runs = 5): Promise<Row> {
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
    const oursRuns: number[] = [];
    const theirRuns: number[] = [];
    for (let r = 0; r < runs; r++) {
      oursRuns.push(await reads(ours));
      theirRuns.push(await reads(theirs));
    }
    return {
      scenario:
        "cluster: subject.get (useCache: false) on 3 masters, 256 in flight (ops/s)",
      ours: median(oursRuns),
      baselines: { "node-redis createCluster": median(theirRuns) },
      target: 1.0,
      note: "both through this module's storage; only the client differs",
    };
  } finally {
    await nodeRedis.close();
  }
}
