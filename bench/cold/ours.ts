// Cold start: import, connect, first get. Run as a fresh process by bench/cold_start.ts.
import { createRedisClient, createRedisStorage } from "../../mod.ts";
import { SubjectProperty } from "../../storage.ts";

const client = await createRedisClient(Deno.args[0]);
const storage = createRedisStorage(client, { keyPrefix: "bench:cold:" })(
  "user-1",
);
const name = await storage.get(new SubjectProperty("name"));
await client.close();
if (name !== "Ada") throw new Error(`unexpected value ${name}`);
