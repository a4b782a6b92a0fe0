/**
 * A process that writes keys through a cluster client with `db.query.text`
 * on, for the telemetry test: run with `OTEL_DENO=true`, its spans say which
 * node served each command. It prints the client's stats as one JSON line.
 *
 * Usage: deno run --allow-net=127.0.0.1 tests/helpers/cluster_writer.ts COUNT SEED_URL…
 *
 * @module
 */
import { createRedisClusterClient } from "../../src/client/ha.ts";

const [countText, ...seeds] = Deno.args;
await using cluster = await createRedisClusterClient(seeds, {
  telemetry: { queryText: true },
});
await Promise.all(
  Array.from(
    { length: Number(countText) },
    (_, i) => cluster.send(["SET", `otel-key-${i}`, `secret-value-${i}`]),
  ),
);
console.log(JSON.stringify(cluster.stats));
