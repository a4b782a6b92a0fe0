import assert from "node:assert/strict";
import { RedisConnectionError } from "../../mod.ts";
import {
  joinAddress,
  parseClusterSlots,
  splitAddress,
} from "../../src/client/_slot_map.ts";

Deno.test("parseClusterSlots reads masters, skips replicas and malformed ranges", () => {
  const ranges = parseClusterSlots(
    [
      [0, 5460, ["10.0.0.1", 7000, "id1"], ["10.0.0.4", 7003, "id4"]],
      [5461, 10922, ["", 7001, "id2"]],
      [10923, 16383, [null, 7002, "id3"]],
      ["bad", 1, ["10.0.0.9", 1]],
      [1, 2],
    ],
    "10.0.0.2",
    "redis://10.0.0.2:7001",
  );
  assert.deepEqual(ranges, [
    { start: 0, end: 5460, hostname: "10.0.0.1", port: 7000 },
    { start: 5461, end: 10922, hostname: "10.0.0.2", port: 7001 },
    { start: 10923, end: 16383, hostname: "10.0.0.2", port: 7002 },
  ]);
});

Deno.test("parseClusterSlots refuses a reply that is no slot map, or assigns nothing", () => {
  assert.throws(
    () => parseClusterSlots("OK", "h", "redis://h:1"),
    RedisConnectionError,
    'redis://h:1 answered CLUSTER SLOTS with "OK", not a slot map.',
  );
  assert.throws(
    () => parseClusterSlots([], "h", "redis://h:1"),
    RedisConnectionError,
    "no assigned slots; is the cluster set up?",
  );
});

Deno.test("node addresses round-trip, IPv6 included", () => {
  assert.deepEqual(splitAddress("10.0.0.1:7000"), {
    hostname: "10.0.0.1",
    port: 7000,
  });
  assert.deepEqual(splitAddress("::1:7000"), { hostname: "::1", port: 7000 });
  assert.deepEqual(splitAddress("[::1]:7000"), { hostname: "::1", port: 7000 });
  assert.equal(joinAddress("::1", 7000), "::1:7000");
});
