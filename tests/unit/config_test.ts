import assert from "node:assert/strict";
import { loadRedisConfig } from "../../src/config.ts";

const env = (vars: Record<string, string>) => new Map(Object.entries(vars));

Deno.test("config: defaults are redis://localhost:6379/0 and app:, as in the Python package", () => {
  assert.deepEqual(loadRedisConfig(env({})), {
    url: "redis://localhost:6379/0",
    keyPrefix: "app:",
  });
});

Deno.test("config: REDIS_URL and REDIS_KEY_PREFIX override the defaults", () => {
  assert.deepEqual(
    loadRedisConfig(env({
      REDIS_URL: "rediss://user:pw@[::1]:6380/2",
      REDIS_KEY_PREFIX: "myapp:",
    })),
    { url: "rediss://user:pw@[::1]:6380/2", keyPrefix: "myapp:" },
  );
});

Deno.test("config: an empty REDIS_URL counts as unset, an empty REDIS_KEY_PREFIX means no prefix", () => {
  assert.deepEqual(
    loadRedisConfig(env({ REDIS_URL: "", REDIS_KEY_PREFIX: "" })),
    {
      url: "redis://localhost:6379/0",
      keyPrefix: "",
    },
  );
});

Deno.test("config: an invalid REDIS_URL is a TypeError naming the variable, without the password", () => {
  for (
    const url of [
      "http://localhost:6379",
      "localhost:6379",
      "redis://:s3cret@host/notadb",
      "redis://user:s3cret@",
    ]
  ) {
    assert.throws(() => loadRedisConfig(env({ REDIS_URL: url })), (error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /^REDIS_URL is invalid: /);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  }
});

Deno.test("config: reads Deno.env by default", () => {
  const saved = [Deno.env.get("REDIS_URL"), Deno.env.get("REDIS_KEY_PREFIX")];
  try {
    Deno.env.set("REDIS_URL", "redis://example.test:7000/3");
    Deno.env.set("REDIS_KEY_PREFIX", "from-env:");
    assert.deepEqual(loadRedisConfig(), {
      url: "redis://example.test:7000/3",
      keyPrefix: "from-env:",
    });
  } finally {
    for (
      const [name, value] of [["REDIS_URL", saved[0]], [
        "REDIS_KEY_PREFIX",
        saved[1],
      ]] as const
    ) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});
