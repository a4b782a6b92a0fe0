/**
 * `deno task mutate`: breaks the core of the storage on purpose, one break
 * at a time, and checks that a test notices.
 *
 * Each mutation below replaces one exact piece of source text (it must occur
 * exactly once, so a mutation that no longer fits the code is reported, not
 * skipped) in a temporary copy of the repository, then runs the tests that
 * should catch it there. A mutation the tests pass is a survivor: a break a
 * user would see that no test checks. Type checking is off in those runs, so
 * only a failing test counts as caught.
 *
 * Not part of CI: it takes minutes. Extra arguments select mutations by a
 * part of their name, e.g. `deno task mutate jitter`.
 *
 * @module
 */

import { HA_MUTATIONS } from "./mutations_ha.ts";

/** One deliberate break, and the tests meant to catch it. */
interface Mutation {
  readonly name: string;
  readonly file: string;
  readonly from: string;
  readonly to: string;
  /** Test files, run with `--filter` when it is given. */
  readonly tests: readonly string[];
  readonly filter?: string;
}

const STORE_SCRIPT_LOOPS = `for first = 3, last_pair, chunk do
  redis.call('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, last_pair)))
end
for first = last_check + 1, #ARGV, chunk do
  redis.call('HDEL', key, unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end`;

const MUTATIONS: readonly Mutation[] = [
  {
    name: "store script: deletes run before sets",
    file: "src/storage/scripts.ts",
    from: STORE_SCRIPT_LOOPS,
    to: `for first = last_check + 1, #ARGV, chunk do
  redis.call('HDEL', key, unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end
for first = 3, last_pair, chunk do
  redis.call('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, last_pair)))
end`,
    tests: ["tests/storage_redis_test.ts"],
    filter: "ends deleted",
  },
  {
    name: "store script: deletes dropped",
    file: "src/storage/scripts.ts",
    from: STORE_SCRIPT_LOOPS,
    to: `for first = 3, last_pair, chunk do
  redis.call('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, last_pair)))
end`,
    tests: ["tests/storage_redis_test.ts"],
    filter: "storage contract",
  },
  {
    name: "store: sets split into one HSET per field, sent in the same tick",
    file: "src/storage/redis_storage.ts",
    from: `await this.#send(["HSET", this.key, ...sets]);`,
    to: `const pairs = [];
      for (let i = 0; i < sets.length; i += 2) {
        pairs.push(this.#send(["HSET", this.key, sets[i], sets[i + 1]]));
      }
      await Promise.all(pairs);`,
    tests: ["tests/concurrency_test.ts"],
    filter: "store is atomic",
  },
  {
    name:
      "store: sets and deletes split into HSET + HDEL, sent in the same tick",
    file: "src/storage/redis_storage.ts",
    from: `await this.#run(STORE_SCRIPT, [
        sets.length / 2,
        0,
        ...sets,
        ...deletes,
      ]);`,
    to: `await Promise.all([
        this.#send(["HSET", this.key, ...sets]),
        this.#send(["HDEL", this.key, ...deletes]),
      ]);`,
    tests: ["tests/concurrency_test.ts"],
    filter: "store is atomic",
  },
  {
    name: "store encoding: extended properties stored under the p prefix",
    file: "src/storage/_checks.ts",
    from: "return prop.type + prop.name;",
    to: `return "p" + prop.name;`,
    tests: ["tests/storage_redis_test.ts"],
    filter: "storage contract",
  },
  {
    name: "store encoding: values stored as String(value), not JSON",
    file: "src/json/codec.ts",
    from: `  return JSON.stringify(value);
}

/**
 * Decodes`,
    to: `  return String(value);
}

/**
 * Decodes`,
    tests: ["tests/storage_redis_test.ts", "tests/storage_interop_test.ts"],
  },
  {
    name: "set script: reads the old value after writing the new one",
    file: "src/storage/scripts.ts",
    from: `local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if old`,
    to: `redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old`,
    tests: ["tests/storage_redis_test.ts"],
    filter: "storage contract",
  },
  {
    name: "compare-and-set script: writes without comparing",
    file: "src/storage/scripts.ts",
    from: "if unchanged then",
    to: "if true then",
    tests: ["tests/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name: "compare-and-set script: an absent field always counts as unchanged",
    file: "src/storage/scripts.ts",
    from: "unchanged = current == false",
    to: "unchanged = true",
    tests: ["tests/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name: "compare-and-set script: a present field only has to be present",
    file: "src/storage/scripts.ts",
    from: "unchanged = current == ARGV[3]",
    to: "unchanged = current ~= false",
    tests: ["tests/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name:
      "compare-and-set combiner: each update computed from the batch's read",
    file: "src/storage/_cas_combiner.ts",
    from: "text = written = encodeValue(this.#property, value);",
    to: "written = encodeValue(this.#property, value);",
    tests: ["tests/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name: "store script: conditions checked but ignored",
    file: "src/storage/scripts.ts",
    from: "if conflict then return replies end",
    to: "",
    tests: ["tests/storage_redis_test.ts", "tests/concurrency_test.ts"],
    filter: "conditioned|cached function",
  },
  {
    name: "memory store: conditions ignored",
    file: "src/storage/memory_storage.ts",
    from: "if (current !== check.expected) {",
    to: "if (false) {",
    tests: ["tests/storage_memory_test.ts"],
    filter: "conditioned|function set",
  },
  {
    name: "subject: a cached function set carries no condition",
    file: "src/subject/subject.ts",
    from: "const chain = pending === undefined",
    to: "const chain = pending !== pending",
    tests: ["tests/storage_memory_test.ts"],
    filter: "function set",
  },
  {
    name: "subject: only the last function of a chain is applied again",
    file: "src/subject/subject.ts",
    from: "update: applyAll(name, chain.updates),",
    to: "update: chain.updates[chain.updates.length - 1],",
    tests: ["tests/storage_memory_test.ts"],
    filter: "applied again",
  },
  {
    name: "subject: a plain set after a function set keeps the condition",
    file: "src/subject/subject.ts",
    from: `change.text = text;
    change.chain = undefined;`,
    to: "change.text = text;",
    tests: ["tests/storage_memory_test.ts"],
    filter: "last-writer-wins",
  },
  {
    name: "subject: a store that ran is merged back like one that did not",
    file: "src/subject/subject.ts",
    from: "if (notExecuted(error)) this.#restore(cache, number);",
    to: "if (true) this.#restore(cache, number);",
    tests: ["tests/subject_store_failure_test.ts"],
  },
  {
    name: "subject: a direct write that ran keeps the stale cache",
    file: "src/subject/subject.ts",
    from: `(error) => {
            if (!notExecuted(error)) this.#unsure(type, [prop]);`,
    to: `(error) => {`,
    tests: ["tests/subject_store_failure_test.ts"],
  },
  {
    name:
      "subject: an older batch may bring back what a newer one that ran wrote",
    file: "src/subject/subject.ts",
    from: `this.#noteWritten(failed, number);
    this.#reloadCache();`,
    to: `this.#reloadCache();`,
    tests: ["tests/subject_store_failure_test.ts"],
  },
  {
    name: "subject: reloading after a write that ran drops pending changes",
    file: "src/subject/subject.ts",
    from: "this.#unstored = hasPending(cache) ? cache : null;",
    to: "this.#unstored = null;",
    tests: ["tests/subject_store_failure_test.ts"],
  },
  {
    name:
      "conditioned store: an unconfirmed attempt that wrote nothing counts as applied",
    file: "src/storage/redis_storage.ts",
    from:
      "if (error instanceof ReplicationError && Array.isArray(error.reply)) {",
    to: "if (false) {",
    tests: ["tests/subject_store_failure_test.ts"],
  },
  {
    name: "compare-and-set retries: no jitter (the whole bound every time)",
    file: "src/storage/_cas_combiner.ts",
    from: "{ baseMs: 1, maxMs: 50, floor: 0 }",
    to: "{ baseMs: 1, maxMs: 50, floor: 1 }",
    tests: ["tests/storage_redis_test.ts"],
    filter: "compare-and-set",
  },
  {
    name: "backoff: no jitter for anyone",
    file: "src/async/backoff.ts",
    from: "return bound * (policy.floor + Math.random() * (1 - policy.floor));",
    to: "return bound;",
    tests: ["tests/backoff_test.ts", "tests/storage_redis_test.ts"],
    filter: "backoff|compare-and-set",
  },
  {
    name: "scripts: no EVAL fallback on NOSCRIPT",
    file: "src/storage/scripts.ts",
    from:
      `if (!(error instanceof RedisReplyError) || error.code !== "NOSCRIPT") {`,
    to: `if (true) {`,
    tests: ["tests/storage_redis_test.ts"],
    filter: "NOSCRIPT",
  },
  {
    name: "decoding: corrupt JSON comes back as its text",
    file: "src/json/codec.ts",
    from: "throw new CorruptValueError(key, field, { cause: error });",
    to: "return text;",
    tests: ["tests/bad_input_storage_test.ts"],
    filter: "corrupt",
  },
  {
    name: "redaction: a parsed URL keeps its password",
    file: "src/client/url.ts",
    from: `copy.password = "***";`,
    to: `copy.password = url.password;`,
    tests: ["tests/url_test.ts", "tests/security_test.ts"],
  },
  {
    name: "redaction: unparsable text keeps its password",
    file: "src/client/url.ts",
    from: `if (at !== -1) return scheme + "***" + text.slice(at);`,
    to: `if (at !== -1) return text;`,
    tests: ["tests/url_test.ts", "tests/security_test.ts"],
  },
  ...HA_MUTATIONS,
];

const FLAGS = [
  "--no-check",
  "--allow-env=REDIS_URL,REDIS_KEY_PREFIX,REDIS_DEBUG_MAINTENANCE,REDIS_EMIT_DIAGNOSTICS",
  "--allow-net=127.0.0.1,localhost,[::1]",
  "--allow-run=redis-server,redis-cli,openssl,deno",
  "--allow-read=/tmp",
  "--allow-write=/tmp",
];
/** What the copy needs to run the tests. */
const COPIED = [
  "deno.json",
  "deno.lock",
  "mod.ts",
  "testing.ts",
  "src",
  "tests",
  "examples",
];

async function copy(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isFile) return await Deno.copyFile(from, to);
  await Deno.mkdir(to);
  for await (const entry of Deno.readDir(from)) {
    await copy(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** Runs `mutation`'s tests in a fresh copy with `mutation` applied (or none). */
async function attempt(
  mutation: Mutation,
  apply: boolean,
): Promise<{ passed: boolean; output: string }> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mutate-" });
  try {
    for (const path of COPIED) await copy(path, `${dir}/${path}`);
    if (apply) {
      const path = `${dir}/${mutation.file}`;
      const source = await Deno.readTextFile(path);
      const count = source.split(mutation.from).length - 1;
      if (count !== 1) {
        throw new Error(
          `"${mutation.name}": its text occurs ${count} times in ${mutation.file}, not once; update the mutation to the code.`,
        );
      }
      await Deno.writeTextFile(
        path,
        source.replace(mutation.from, mutation.to),
      );
    }
    const { success, stdout, stderr } = await new Deno.Command("deno", {
      args: [
        "test",
        "-q",
        ...FLAGS,
        ...(mutation.filter === undefined
          ? []
          : [`--filter=/${mutation.filter}/`]),
        ...mutation.tests,
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      passed: success,
      output: decoder.decode(stdout) + decoder.decode(stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const selected = MUTATIONS.filter((m) =>
  Deno.args.length === 0 || Deno.args.some((arg) => m.name.includes(arg))
);
const rows: string[] = [];
const baselines = new Map<string, { passed: boolean; output: string }>();
let survivors = 0;
let broken = 0;
for (const mutation of selected) {
  const started = performance.now();
  // The tests must pass without the break, or a failure would prove nothing.
  const key = JSON.stringify([mutation.tests, mutation.filter]);
  const baseline = baselines.get(key) ?? await attempt(mutation, false);
  baselines.set(key, baseline);
  let verdict: string;
  if (!baseline.passed) {
    broken++;
    verdict = "tests fail without it";
    console.error(baseline.output);
  } else {
    const mutated = await attempt(mutation, true);
    if (mutated.passed) survivors++;
    verdict = mutated.passed ? "SURVIVED" : "caught";
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const where = mutation.tests.map((t) => t.replace("tests/", "")).join(", ");
  rows.push(`| ${mutation.name} | ${where} | ${verdict} | ${seconds} s |`);
  console.log(rows.at(-1));
}
console.log(
  [
    "",
    "| mutation | tests run | result | time |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    `${selected.length} mutations: ${
      selected.length - survivors - broken
    } caught, ${survivors} survived${
      broken > 0 ? `, ${broken} with tests failing unmutated` : ""
    }.`,
  ].join("\n"),
);
Deno.exit(survivors + broken === 0 ? 0 : 1);
