// Memory row, this module: 10,000 subjects loaded through KRules, then mixed
// storage.get / storage.set. Run by bench/memory.ts.
import { createRedisClient, createRedisStorage, KRules } from "../../mod.ts";
import { SubjectProperty } from "../../storage.ts";
import { measure, SUBJECTS } from "./_measure.ts";

const client = await createRedisClient(Deno.args[0]);
const storage = createRedisStorage(client, { keyPrefix: "bench:memory:" });
const krules = new KRules({ storage });
const storages = Array.from({ length: SUBJECTS }, (_, s) => storage(`u${s}`));
const prop = new SubjectProperty("f0");

await measure({
  async load(s) {
    const subject = krules.subject(`u${s}`);
    await subject.get("f0");
    return subject;
  },
  op(i) {
    const target = storages[(i * 7919) % SUBJECTS];
    return i % 5 === 0
      ? target.set(new SubjectProperty("f0", { n: i }))
      : target.get(prop);
  },
  close: () => client.close(),
});
