/**
 * The high-availability breaks of `deno task mutate` (Sentinel, Cluster,
 * the shared retry loop, `waitReplicas`): each names the test that must
 * notice it. Run them alone with `deno task mutate HA`.
 *
 * @module
 */

/** One deliberate break, and the tests meant to catch it (as in `mutate.ts`). */
export interface HaMutation {
  readonly name: string;
  readonly file: string;
  readonly from: string;
  readonly to: string;
  readonly tests: readonly string[];
  readonly filter?: string;
}

const SENTINEL_TESTS = ["tests/ha_sentinel_test.ts"];
const SENTINEL_FAKES = "newest configuration epoch|promotes a replica|abort";

/** Each makes a Sentinel, Cluster or `waitReplicas` guarantee false. */
export const HA_MUTATIONS: readonly HaMutation[] = [
  {
    name: "HA Sentinel: the most named master wins, whatever its epoch",
    file: "src/client/_sentinel_views.ts",
    from: "if (view.epoch !== newest) continue;",
    to: "",
    tests: SENTINEL_TESTS,
    filter: SENTINEL_FAKES,
  },
  {
    name: "HA Sentinel: a promotion in progress goes unseen",
    file: "src/client/_sentinel_views.ts",
    from: `promoting: flags.includes("failover_in_progress") &&`,
    to: `promoting: false &&`,
    tests: SENTINEL_TESTS,
    filter: SENTINEL_FAKES,
  },
  {
    name: "HA Sentinel: commands go to the master during a failover",
    file: "src/client/sentinel.ts",
    from:
      "if (master !== null && !this.#failover.held && master.client.connected) {",
    to: "if (master !== null && master.client.connected) {",
    tests: SENTINEL_TESTS,
    filter: SENTINEL_FAKES,
  },
  {
    name: "HA Sentinel: a call held past its deadline says it may have run",
    file: "src/client/sentinel.ts",
    from: `so it was never sent. It is safe to send again.\`,
        { executed: "no", cause: last },`,
    to: `so it was never sent. It is safe to send again.\`,
        { cause: last },`,
    tests: SENTINEL_TESTS,
    filter: SENTINEL_FAKES,
  },
  {
    name: "HA Cluster: a retry goes back to the node it failed on",
    file: "src/client/cluster.ts",
    from: "node = this.#map.owner(slot) ?? node;",
    to: "",
    tests: ["tests/ha_cluster_test.ts"],
    filter: "every slot of every range",
  },
  {
    name: "HA Cluster: the last slot of every range is left out of the map",
    file: "src/client/_slot_map.ts",
    from: "slot <= range.end",
    to: "slot < range.end",
    tests: ["tests/ha_cluster_test.ts"],
    filter: "every slot of every range",
  },
  {
    name: "HA retry: the last raw failure reaches the caller at the deadline",
    file: "src/client/_retry.ts",
    from: "throw policy.late(error);",
    to: "throw error;",
    tests: ["tests/ha_cluster_test.ts"],
    filter: "CLUSTERDOWN until its deadline",
  },
  ...["EVAL", "EVALSHA", "HSET", "HDEL", "DEL"].map((command) => ({
    name: `HA waitReplicas: ${command} is not followed by WAIT`,
    file: "src/storage/redis/_replicated.ts",
    from: `const WRITES = new Set(["HSET", "HDEL", "DEL", "EVALSHA", "EVAL"]);`,
    to: `const WRITES = new Set(${
      JSON.stringify(
        ["HSET", "HDEL", "DEL", "EVALSHA", "EVAL"].filter((c) => c !== command),
      )
    });`,
    tests: ["tests/ha_wait_replicas_test.ts"],
  })),
];
