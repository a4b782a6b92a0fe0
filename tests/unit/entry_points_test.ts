/**
 * The root export stays a page a subjects user can take in; the clients'
 * full surface and the backend implementer's types have entry points of
 * their own (issue 19, item 4).
 *
 * @module
 */
import assert from "node:assert/strict";

/** The names `deno doc` lists for one entry point, as JSR shows them. */
async function symbolsOf(entry: string): Promise<string[]> {
  const output = await new Deno.Command("deno", {
    args: ["doc", "--json", entry],
    cwd: new URL("../..", import.meta.url),
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(output.success, `deno doc --json ${entry} failed`);
  const doc = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    nodes: Record<string, { symbols: { name: string }[] }>;
  };
  return Object.values(doc.nodes).flatMap((node) =>
    node.symbols.map((symbol) => symbol.name)
  );
}

Deno.test("the root export holds at most 60 symbols, the user's", async () => {
  const root = await symbolsOf("mod.ts");
  assert.ok(root.length <= 60, `mod.ts exports ${root.length} symbols`);
  for (
    const needed of [
      "KRules",
      "Subject",
      "createRedisStorage",
      "createMemoryStorage",
      "createEmptyStorage",
      "createRedisClient",
      "createRedisClusterClient",
      "createRedisSentinelClient",
      "RedisError",
      "RedisUnexpectedReplyError",
      "notExecuted",
      "ReplicationError",
      "PropertyNotFoundError",
      "loadRedisConfig",
    ]
  ) assert.ok(root.includes(needed), `mod.ts lacks ${needed}`);
  for (
    const moved of ["RedisConnectEventInit", "StoreChanges", "EncodedValue"]
  ) assert.ok(!root.includes(moved), `mod.ts still exports ${moved}`);
});

Deno.test("./client and ./storage hold what left the root", async () => {
  const client = await symbolsOf("client.ts");
  const storage = await symbolsOf("storage.ts");
  for (
    const name of [
      "RedisEventTarget",
      "RedisConnectEventInit",
      "RedisClientStats",
      "RedisSender",
      "fromNodeRedis",
    ]
  ) assert.ok(client.includes(name), `client.ts lacks ${name}`);
  for (
    const name of [
      "SubjectStorage",
      "StoreChanges",
      "StorageContext",
      "EncodedValue",
    ]
  ) assert.ok(storage.includes(name), `storage.ts lacks ${name}`);
});
