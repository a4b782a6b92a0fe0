import assert from "node:assert/strict";
import {
  createRedisClient,
  RedisConnectionError,
  RedisTimeoutError,
} from "../../mod.ts";
import { startRedisServer } from "../../testing.ts";
import { makeCertificates, serverTls } from "../helpers/tls.ts";

Deno.test("TLS: rediss:// with the CA works; without it the connection fails closed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "redis-subjects-tls-" });
  try {
    await makeCertificates(dir);
    await using server = await startRedisServer({
      tls: serverTls(dir),
      config: ["requirepass tls-secret"],
    });
    assert.match(server.url, /^rediss:\/\/localhost:\d+\/0$/);
    const url = server.url.replace("rediss://", "rediss://:tls-secret@");
    const ca = await Deno.readTextFile(`${dir}/ca.crt`);

    await using client = await createRedisClient(url, {
      tls: { caCerts: [ca] },
    });
    await client.send(["SET", "over-tls", "yes"]);
    assert.equal(await client.send(["GET", "over-tls"]), "yes");

    const error = await createRedisClient(url, { connectTimeoutMs: 2000 })
      .catch((e) => e);
    assert.ok(error instanceof RedisConnectionError, String(error));
    assert.match(error.message, /certificate|issuer/i);
    assert.ok(!error.message.includes("tls-secret"));

    // A plaintext client gets nowhere either: the server speaks only TLS.
    const plain = await createRedisClient(
      url.replace("rediss://", "redis://"),
      {
        connectTimeoutMs: 1000,
        commandTimeoutMs: 1000,
      },
    ).catch((e) => e);
    assert.ok(
      plain instanceof RedisConnectionError ||
        plain instanceof RedisTimeoutError,
      String(plain),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
