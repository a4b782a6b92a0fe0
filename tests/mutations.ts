/**
 * The breaks `deno task mutate` (tests/mutate.ts) makes on purpose, layer by
 * layer, each with the tests that must notice it.
 *
 * A mutation replaces one small, exact piece of source text, chosen to
 * survive unrelated edits around it; when the text no longer occurs exactly
 * once, the run reports the mutation as an error, so it is updated to the
 * code rather than silently skipped. The tests named are the ones that cover
 * the behaviour; a filter keeps each run short. When a test for one of
 * these behaviours moves or is renamed, update its entry here.
 *
 * @module
 */

/** The parts of the code the mutations break. */
export type Layer =
  | "storage"
  | "client"
  | "cluster"
  | "sentinel"
  | "events"
  | "memory"
  | "json"
  | "subject";

/** One deliberate break, and the tests meant to catch it. */
export interface Mutation {
  /** What the break does, as a user would notice it. */
  readonly name: string;
  readonly layer: Layer;
  readonly file: string;
  /** Source text that must occur exactly once in `file`. */
  readonly from: string;
  readonly to: string;
  /** Test files, run with `--filter` when it is given. */
  readonly tests: readonly string[];
  /** A regular expression over test names (Deno's `--filter=/…/`). */
  readonly filter?: string;
}

const STORE_SCRIPT_LOOPS = `for first = 3, last_pair, chunk do
  write('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, last_pair)))
end
for first = last_check + 1, #ARGV, chunk do
  write('HDEL', key, unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end`;

/** Scripts that may fail part-way, and what a failure says of what ran. */
const PARTIAL_WRITE_TESTS = [
  "tests/integration/script_no_partial_write_test.ts",
];

const STORAGE: readonly Mutation[] = [
  {
    name: "store script: deletes run before sets",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: STORE_SCRIPT_LOOPS,
    to: `for first = last_check + 1, #ARGV, chunk do
  write('HDEL', key, unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end
for first = 3, last_pair, chunk do
  write('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, last_pair)))
end`,
    tests: ["tests/integration/storage_redis_test.ts"],
    filter: "ends deleted",
  },
  {
    name: "store script: deletes dropped",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: STORE_SCRIPT_LOOPS,
    to: `for first = 3, last_pair, chunk do
  write('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, last_pair)))
end`,
    tests: ["tests/integration/storage_redis_test.ts"],
    filter: "storage contract",
  },
  {
    name: "store: sets split into one HSET per field, sent in the same tick",
    layer: "storage",
    file: "src/storage/redis/redis_storage.ts",
    from: `: this.#send(hset).then(nothing);`,
    to: `: Promise.all(
          Array.from(
            { length: hset.length / 2 - 1 },
            (_, i) => this.#send(["HSET", this.key, ...hset.slice(2 * i + 2, 2 * i + 4)]),
          ),
        ).then(nothing);`,
    tests: ["tests/integration/concurrency_test.ts"],
    filter: "store is atomic",
  },
  {
    name: "store: a store that also deletes is sent as its HSET alone",
    layer: "storage",
    file: "src/storage/redis/redis_storage.ts",
    from: `return (deletes === undefined ||`,
    to: `return (true ||`,
    tests: ["tests/integration/storage_redis_test.ts"],
  },
  {
    name:
      "store: sets and deletes split into HSET + HDEL, sent in the same tick",
    layer: "storage",
    file: "src/storage/redis/redis_storage.ts",
    from:
      `: this.#run(STORE_SCRIPT, [sets.length / 2, 0, ...sets, ...deletes]);`,
    to: `: Promise.all([
          this.#send(["HSET", this.key, ...sets]),
          this.#send(["HDEL", this.key, ...deletes]),
        ]);`,
    tests: ["tests/integration/concurrency_test.ts"],
    filter: "store is atomic",
  },
  {
    name: "store encoding: extended properties stored under the p prefix",
    layer: "storage",
    file: "src/storage/_checks.ts",
    from: "return prop.type + prop.name;",
    to: `return "p" + prop.name;`,
    tests: ["tests/integration/storage_redis_test.ts"],
    filter: "storage contract",
  },
  {
    name: "set script: reads the old value after writing the new one",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: `local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if old`,
    to: `redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old`,
    tests: ["tests/integration/storage_redis_test.ts"],
    filter: "storage contract",
  },
  {
    name: "compare-and-set script: writes without comparing",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: "if unchanged then",
    to: "if true then",
    tests: ["tests/integration/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name: "compare-and-set script: an absent field always counts as unchanged",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: "unchanged = current == false",
    to: "unchanged = true",
    tests: ["tests/integration/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name: "compare-and-set script: a present field only has to be present",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: "unchanged = current == ARGV[3]",
    to: "unchanged = current ~= false",
    tests: ["tests/integration/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name:
      "compare-and-set combiner: each update computed from the batch's read",
    layer: "storage",
    file: "src/storage/redis/_cas_combiner.ts",
    from:
      "text = written = encodeValue(this.#property, value, this.#integers);",
    to: "written = encodeValue(this.#property, value, this.#integers);",
    tests: ["tests/integration/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name: "store script: conditions checked but ignored",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: "if conflict then return replies end",
    to: "",
    tests: [
      "tests/integration/storage_redis_test.ts",
      "tests/integration/concurrency_test.ts",
    ],
    filter: "conditioned|cached function",
  },
  {
    name:
      "conditioned store: an unconfirmed attempt that wrote nothing counts as applied",
    layer: "storage",
    file: "src/storage/redis/redis_storage.ts",
    from:
      "if (error instanceof ReplicationError && Array.isArray(error.reply)) {",
    to: "if (false) {",
    tests: ["tests/integration/subject_store_failure_test.ts"],
  },
  {
    name: "compare-and-set: a field's last seen text forgotten once idle",
    layer: "storage",
    file: "src/storage/redis/_cas_combiner.ts",
    from: "this.#remember(id, last);",
    to: "",
    tests: ["tests/integration/storage_redis_test.ts"],
    filter: "compare-and-set",
  },
  {
    name: "cluster subjectNames: scan routed by keys outside the prefix",
    layer: "storage",
    file: "src/storage/redis/_scan.ts",
    from: "(_, i) => `${head}{${round * PROBES + i}}`,",
    to: "(_, i) => `{${round * PROBES + i}}`,",
    tests: ["tests/integration/docs_acl_test.ts"],
    filter: "cluster",
  },
  {
    name: "cluster subjectNames: a prefix's hash tag not seen",
    layer: "storage",
    file: "src/storage/redis/_scan.ts",
    from: "if (round === 0 && new Set(slots).size === 1) return [tags[0]];",
    to: "",
    tests: ["tests/integration/docs_acl_test.ts"],
    filter: "cluster",
  },
  {
    name: "compare-and-set retries: no jitter (the whole bound every time)",
    layer: "storage",
    file: "src/storage/redis/_cas_combiner.ts",
    from: `maxMs: 64,
  floor: 0,`,
    to: `maxMs: 64,
  floor: 1,`,
    tests: ["tests/integration/storage_redis_test.ts"],
    filter: "compare-and-set",
  },
  {
    name: "backoff: no jitter for anyone",
    layer: "storage",
    file: "src/async/backoff.ts",
    from: "return bound * (policy.floor + Math.random() * (1 - policy.floor));",
    to: "return bound;",
    tests: [
      "tests/unit/backoff_test.ts",
      "tests/integration/storage_redis_test.ts",
    ],
    filter: "backoff|compare-and-set",
  },
  {
    name: "store script: no ACL check before its first write",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: `  may('HSET', key, ARGV[3], ARGV[4])
  may('HDEL', key, ARGV[last_check + 1])`,
    to: "",
    tests: PARTIAL_WRITE_TESTS,
    filter: "HDEL",
  },
  {
    name: "scripts: a write after the first one not under pcall",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: "local reply = redis.pcall(...)",
    to: "local reply = redis.call(...)",
    tests: PARTIAL_WRITE_TESTS,
    filter: "executed maybe",
  },
  {
    name: "scripts: an error after a write reported as not executed",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: "error.reply.includes(AFTER_WRITE)",
    to: "false",
    tests: PARTIAL_WRITE_TESTS,
    filter: "executed maybe",
  },
  {
    name: "scripts: no EVAL fallback on NOSCRIPT",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from:
      `if (!(error instanceof RedisReplyError) || error.code !== "NOSCRIPT") {`,
    to: `if (true) {`,
    tests: ["tests/integration/storage_redis_test.ts"],
    filter: "NOSCRIPT",
  },
  {
    name: "redaction: a parsed URL keeps its password",
    layer: "storage",
    file: "src/client/url.ts",
    from: `copy.password = "***";`,
    to: `copy.password = url.password;`,
    tests: [
      "tests/integration/url_test.ts",
      "tests/integration/security_test.ts",
    ],
  },
  {
    name: "redaction: unparsable text keeps its password",
    layer: "storage",
    file: "src/client/url.ts",
    from: `if (at !== -1) return scheme + "***" + text.slice(at);`,
    to: `if (at !== -1) return text;`,
    tests: [
      "tests/integration/url_test.ts",
      "tests/integration/security_test.ts",
    ],
  },
];

const JSON_TESTS = [
  "tests/unit/storage_json_codec_test.ts",
  "tests/integration/storage_interop_test.ts",
];

const JSON_CODEC: readonly Mutation[] = [
  {
    name: "store encoding: values stored as String(value), not JSON",
    layer: "json",
    file: "src/json/codec.ts",
    from:
      `  return bigints ? JSON.stringify(value, writeBigInt) : JSON.stringify(value);
}`,
    to: `  return String(value);
}`,
    tests: [
      "tests/integration/storage_redis_test.ts",
      "tests/integration/storage_interop_test.ts",
    ],
  },
  {
    name: "store encoding: a number alone written with fewer digits",
    layer: "json",
    file: "src/json/codec.ts",
    from: "    return String(value);",
    to: "    return String(Math.fround(value as number));",
    tests: ["tests/unit/storage_json_codec_test.ts"],
    filter: "a number alone",
  },
  {
    name: "decoding: corrupt JSON comes back as its text",
    layer: "json",
    file: "src/json/codec.ts",
    from: "throw new CorruptValueError(key, field, { cause: error });",
    to: "return text;",
    tests: ["tests/integration/bad_input_storage_test.ts"],
    filter: "corrupt",
  },
  {
    name: "decoding: an integer a number rounds is read rounded",
    layer: "json",
    file: "src/json/codec.ts",
    from: `throw new UnreadableNumber("unsafe-integer");`,
    to: "return value;",
    tests: JSON_TESTS,
  },
  {
    name: "decoding: an object is never checked for rounded numbers",
    layer: "json",
    file: "src/json/codec.ts",
    from: "!holdsNumberThatMayBeChanged(value)",
    to: "true",
    tests: JSON_TESTS,
  },
  {
    name: "decoding: a number that overflows reads as Infinity",
    layer: "json",
    file: "src/json/codec.ts",
    from: `if (!Number.isFinite(value)) throw new UnreadableNumber("overflow");
  const source = context.source!;
  // A decimal`,
    to: `const source = context.source!;
  // A decimal`,
    tests: JSON_TESTS,
  },
  {
    name: "encoding: a BigInt is written as a JSON string",
    layer: "json",
    file: "src/json/codec.ts",
    from: "? sourceTextJSON.rawJSON(original.toString())",
    to: "? original.toString()",
    tests: JSON_TESTS,
  },
];

const SUBJECT_FAILURE_TESTS = [
  "tests/integration/subject_store_failure_test.ts",
];

const UNLOADED_SET_MANY = "tests/integration/subject_unloaded_set_many_test.ts";

const SUBJECT: readonly Mutation[] = [
  {
    name:
      "setMany at once: a read before store() does not see the values it set",
    layer: "subject",
    file: "src/subject/_batch_values.ts",
    from: `  override get(name: string): unknown {
    this.#fill();`,
    to: "  override get(name: string): unknown {",
    tests: [
      "tests/unit/subject_changes_test.ts",
      "tests/integration/subject_unloaded_set_many_test.ts",
    ],
  },
  {
    name:
      "setMany at once: an object set is written as it is at store(), not as it was set",
    layer: "subject",
    file: "src/subject/_changes.ts",
    from: "texts.every((text) => text === SCALAR)",
    to: "true",
    tests: ["tests/unit/subject_changes_test.ts"],
    filter: "recorded at once",
  },
  {
    name:
      "setMany: values taken in the order an object walks, whatever names they have",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: "if (name !== names[n]) break;",
    to: "if (n === names.length) break;",
    tests: ["tests/integration/subject_unloaded_set_many_test.ts"],
    filter: "own enumerable",
  },
  {
    name: "store pacing: every store() of a turn at once",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: "const STORES_PER_TURN = new TurnPacer(64);",
    to: "const STORES_PER_TURN = new TurnPacer(Infinity);",
    tests: ["tests/integration/concurrency_test.ts"],
    filter: "64 an event-loop turn",
  },
  {
    name:
      "store pacing: a store() waiting for its turn is not in flight for close()",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: "this.#ledger?.storing === true || this.#queuedStores > 0",
    to: "this.#ledger?.storing === true",
    tests: ["tests/integration/krules_close_test.ts"],
    filter: "later turn",
  },
  {
    name: "store pacing: a group let through counts nothing against its turn",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: "    this.#passed = end - this.#head;\n",
    to: "    this.#passed = 0;\n",
    tests: ["tests/unit/turn_pacer_test.ts"],
  },
  {
    name: "cached setMany: its first load sent only after the checks",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: `const loading = cached && !blind && this.#cache === null
      ? this.#load()
      : undefined;`,
    to: "const loading: Promise<void> | undefined = undefined;",
    tests: ["tests/integration/storage_redis_test.ts"],
    filter: "first cached setMany",
  },
  {
    name: "unloaded setMany: loads as before",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: "const blind = cached && !wantOld && this.#cache === null &&",
    to: "const blind = false && cached && !wantOld && this.#cache === null &&",
    tests: [UNLOADED_SET_MANY],
    filter: "one round trip",
  },
  {
    name:
      "unloaded setMany: set without a load even when old values are wanted",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: "const blind = cached && !wantOld && this.#cache === null &&",
    to: "const blind = cached && this.#cache === null &&",
    tests: [UNLOADED_SET_MANY],
    filter: "listener",
  },
  {
    name: "unloaded setMany: set without a load while a read loads",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: "this.#loading === null && this.#flushing === null &&",
    to: "this.#flushing === null &&",
    tests: [UNLOADED_SET_MANY],
    filter: "before it",
  },
  {
    name: "unloaded setMany: a load does not put its values over what it read",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: `        this.#ledger?.mergeInto(this.#cache);
        this.#takeBlind();`,
    to: `        this.#ledger?.mergeInto(this.#cache);`,
    tests: [UNLOADED_SET_MANY],
    filter: "a read loads",
  },
  {
    name:
      "unloaded setMany: a direct write, done or failed after it ran, does not end its change",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: `    this.#ledger?.endPending(type, prop);
    if (this.#blind !== null) endChange(this.#blind[type], prop);`,
    to: `    this.#ledger?.endPending(type, prop);`,
    tests: [UNLOADED_SET_MANY],
    filter: "direct write after it",
  },
  {
    name:
      "unloaded setMany: a refused store() makes its values the whole cache",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: "!blind && this.#loading === null && !this.#mustLoad,",
    to: "this.#loading === null && !this.#mustLoad,",
    tests: [UNLOADED_SET_MANY],
    filter: "refused",
  },
  {
    name: "unloaded setMany: its values are not changes close() names",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: "      (this.#blind !== null && hasPending(this.#blind)) ||\n",
    to: "",
    tests: ["tests/integration/krules_close_test.ts"],
    filter: "exactly the subjects",
  },
  {
    name: "subject: a cached function set carries no condition",
    layer: "subject",
    file: "src/subject/_changes.ts",
    from: "? { expected: storedText(section.values, prop), updates: [] }",
    to: "? undefined",
    tests: ["tests/unit/storage_memory_test.ts"],
    filter: "function set",
  },
  {
    name: "subject: only the last function of a chain is applied again",
    layer: "subject",
    file: "src/subject/_changes.ts",
    from: "update: applyAll(name, chain.updates),",
    to: "update: chain.updates[chain.updates.length - 1],",
    tests: ["tests/unit/storage_memory_test.ts"],
    filter: "applied again",
  },
  {
    name: "subject: a plain set after a function set keeps the condition",
    layer: "subject",
    file: "src/subject/_changes.ts",
    from: `change.text = text;
    change.chain = undefined;`,
    to: "change.text = text;",
    tests: ["tests/unit/storage_memory_test.ts"],
    filter: "last-writer-wins",
  },
  {
    name: "subject: a store that ran is merged back like one that did not",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from:
      "if (notExecuted(error)) this.#restore(cache, number, blind !== null);",
    to: "if (true) this.#restore(cache, number, blind !== null);",
    tests: SUBJECT_FAILURE_TESTS,
  },
  {
    name: "subject: a direct write that ran keeps the stale cache",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: `(error) => {
            if (!notExecuted(error)) this.#unsure(type, [prop]);`,
    to: `(error) => {`,
    tests: SUBJECT_FAILURE_TESTS,
  },
  {
    name:
      "subject: an older batch may bring back what a newer one that ran wrote",
    layer: "subject",
    file: "src/subject/_cache_keeper.ts",
    from: `this.#ledger?.written(failed, number);
    this.#reloadCache();`,
    to: `this.#reloadCache();`,
    tests: SUBJECT_FAILURE_TESTS,
  },
  {
    name: "subject: reloading after a write that ran drops pending changes",
    layer: "subject",
    file: "src/subject/_store_ledger.ts",
    from: "this.#unstored = hasPending(cache) ? cache : null;",
    to: "this.#unstored = null;",
    tests: SUBJECT_FAILURE_TESTS,
  },
  {
    name: "subject: setMany() one set at a time hides that earlier sets ran",
    layer: "subject",
    file: "src/subject/_one_by_one.ts",
    from: "if (olds.length === 0 || !notExecuted(error)) throw error;",
    to: "throw error;",
    tests: PARTIAL_WRITE_TESTS,
    filter: "without setMany",
  },
];

const RECONNECT_TESTS = ["tests/integration/client_reconnect_test.ts"];
/** The test that restarts a server under a client on /2 with a user and a name. */
const RECONNECT_KEEPS = "keeps the URL's database";
/** Tests of commands' deadlines, on a live connection or none. */
const DEADLINE_TESTS = [
  "tests/integration/client_reconnect_test.ts",
  "tests/unit/client_pending_test.ts",
  "tests/integration/client_hostile_reply_test.ts",
];
const DEADLINE_FILTER =
  "every waiting command|overload|own deadline|expired|deadline passes";
const GUARD_TESTS = ["tests/integration/client_guard_test.ts"];
const SECRET_TESTS = [
  "tests/integration/client_secrets_test.ts",
  "tests/integration/security_test.ts",
];
/** The five write forms of the storage, each checked for its WAIT. */
const WAIT_WRITES = ["HSET", "HDEL", "DEL", "EVALSHA", "EVAL"];

/** Where the client opens each connection, the first and every reconnect. */
const HANDSHAKE =
  "await handshake(conn, this.#endpoint, this.#settings, deadline);";
/**
 * The handshake with `endpoint` and `settings` in place of the client's own
 * on a reconnect only: what a reconnect would lose, the first connect keeps.
 */
function reconnectHandshake(endpoint: string, settings: string): string {
  return `await handshake(
      conn,
      this.#everConnected ? ${endpoint} : this.#endpoint,
      this.#everConnected ? ${settings} : this.#settings,
      deadline,
    );`;
}

const CLIENT: readonly Mutation[] = [
  {
    name: "telemetry: a command inside an unrecorded trace still starts a span",
    layer: "client",
    file: "src/telemetry/_otel.ts",
    from: "(parent.spanContext().traceFlags & SAMPLED) === 0;",
    to: "(parent.spanContext().traceFlags & SAMPLED) === 2;",
    tests: ["tests/integration/telemetry_test.ts"],
    filter: "not recorded",
  },
  {
    name: "connection: every reply of a read handed out before any caller runs",
    layer: "client",
    file: "src/client/_connection.ts",
    from: "const SETTLE_GROUP = 64;",
    to: "const SETTLE_GROUP = Infinity;",
    tests: ["tests/integration/client_test.ts"],
    filter: "callers of a read",
  },
  {
    name: "connection: a failure drops the replies already read",
    layer: "client",
    file: "src/client/_connection.ts",
    from: "      this.#pending.settle(ready[this.#readyHead++]);",
    to: "      this.#readyHead++;",
    tests: ["tests/integration/client_test.ts"],
    filter: "closed at once",
  },
  {
    name: "reconnect: the URL's database is not selected again",
    layer: "client",
    file: "src/client/client.ts",
    from: HANDSHAKE,
    to: reconnectHandshake("{ ...this.#endpoint, db: 0 }", "this.#settings"),
    tests: RECONNECT_TESTS,
    filter: RECONNECT_KEEPS,
  },
  {
    name: "reconnect: AUTH drops the URL's user name (the default user's)",
    layer: "client",
    file: "src/client/client.ts",
    from: HANDSHAKE,
    to: reconnectHandshake(
      "{ ...this.#endpoint, username: undefined }",
      "this.#settings",
    ),
    tests: RECONNECT_TESTS,
    filter: RECONNECT_KEEPS,
  },
  {
    name: "reconnect: the client name is not set again",
    layer: "client",
    file: "src/client/client.ts",
    from: HANDSHAKE,
    to: reconnectHandshake(
      "this.#endpoint",
      "{ ...this.#settings, clientName: undefined }",
    ),
    tests: RECONNECT_TESTS,
    filter: RECONNECT_KEEPS,
  },
  {
    name:
      "reconnect: a LOADING server fails the connect instead of being waited for",
    layer: "client",
    file: "src/client/_handshake.ts",
    from: `  "LOADING",
`,
    to: "",
    tests: RECONNECT_TESTS,
    filter: "LOADING",
  },
  {
    name:
      "offline queue: only the commands due at the first deadline time out, later ones wait on",
    layer: "client",
    file: "src/client/_offline_queue.ts",
    from: "waiting[0].deadline !== Infinity",
    to: "false",
    tests: DEADLINE_TESTS,
    filter: DEADLINE_FILTER,
  },
  {
    name: "pending replies: only the oldest waiting command can time out",
    layer: "client",
    file: "src/client/_pending.ts",
    from: "for (; i < count; i++) {",
    to: "for (; i < Math.min(count, this.#head + 1); i++) {",
    tests: DEADLINE_TESTS,
    filter: DEADLINE_FILTER,
  },
  {
    name:
      "connection: the timer is not armed again for the commands after the first deadline",
    layer: "client",
    file: "src/client/_connection.ts",
    from: "if (next !== Infinity) this.#armTimer(next);",
    to: "",
    tests: DEADLINE_TESTS,
    filter: DEADLINE_FILTER,
  },
  {
    name:
      "connection: once every waiting command has timed out, a new command gets no timer",
    layer: "client",
    file: "src/client/_connection.ts",
    from: `this.#timerAt = Infinity;
    if (this.#failure !== null) return;`,
    to: `if (this.#failure !== null) return;`,
    tests: DEADLINE_TESTS,
    filter: DEADLINE_FILTER,
  },
  {
    name: "guard: SELECT passes",
    layer: "client",
    file: "src/client/_guard.ts",
    from: `"SELECT",`,
    to: "",
    tests: GUARD_TESTS,
  },
  {
    name: "guard: SUBSCRIBE passes",
    layer: "client",
    file: "src/client/_guard.ts",
    from: `"SUBSCRIBE",`,
    to: "",
    tests: GUARD_TESTS,
  },
  {
    name: "guard: MULTI passes",
    layer: "client",
    file: "src/client/_guard.ts",
    from: `"MULTI",`,
    to: "",
    tests: GUARD_TESTS,
  },
  {
    name: "guard: PSYNC (a replication command) passes",
    layer: "client",
    file: "src/client/_guard.ts",
    from: `"PSYNC",`,
    to: "",
    tests: GUARD_TESTS,
  },
  {
    name: "guard: CLIENT REPLY passes",
    layer: "client",
    file: "src/client/_guard.ts",
    from: `"REPLY"`,
    to: `"REPLY-not"`,
    tests: GUARD_TESTS,
  },
  {
    name: "guard: XREAD BLOCK passes",
    layer: "client",
    file: "src/client/_guard.ts",
    from: `"BLOCK"`,
    to: `"BLOCK-not"`,
    tests: GUARD_TESTS,
  },
  {
    name: "scrub: a secret is hidden only where it first appears",
    layer: "client",
    file: "src/client/_scrub.ts",
    from: `out += text.slice(from, at) + "***";
    from = end;`,
    to: `return out + text.slice(from, at) + "***" + text.slice(end);`,
    tests: SECRET_TESTS,
  },
  {
    name: "scrub: a long secret cut short (as Redis echoes it) is not hidden",
    layer: "client",
    file: "src/client/_scrub.ts",
    from: "secret.length <= PREFIX ? secret : secret.slice(0, PREFIX)",
    to: "secret",
    tests: SECRET_TESTS,
  },
  {
    name: "scrub: an error reply reaches the caller unscrubbed",
    layer: "client",
    file: "src/client/_pending.ts",
    from: "this.#scrub(reply.message)",
    to: "reply.message",
    tests: SECRET_TESTS,
  },
  ...WAIT_WRITES.map((command): Mutation => ({
    name: `waitReplicas: ${command} is not followed by WAIT`,
    layer: "client",
    file: "src/storage/redis/_replicated.ts",
    from: `const WRITES = new Set(${JSON.stringify(WAIT_WRITES)});`.replaceAll(
      ",",
      ", ",
    ),
    to: `const WRITES = new Set(${
      JSON.stringify(WAIT_WRITES.filter((c) => c !== command))
    });`,
    tests: ["tests/integration/ha/ha_wait_replicas_test.ts"],
  })),
];

/** The crash test that checks every slot of every range afterwards. */
const CLUSTER_CRASH = {
  tests: ["tests/integration/ha/ha_cluster_test.ts"],
  filter: "every slot of every range",
};
/** The slot map a new client reads, checked slot by slot, and after a failover. */
const SLOT_MAP = {
  tests: [
    "tests/integration/cluster_test.ts",
    "tests/integration/ha/ha_cluster_test.ts",
  ],
  filter: "every slot of every range|none of 16,384 keys",
};

const CLUSTER: readonly Mutation[] = [
  {
    name:
      "cluster: a command not executed is retried on the node that failed, not the slot's new owner",
    layer: "cluster",
    file: "src/client/cluster.ts",
    from: "node = this.#map.owner(slot) ?? node;",
    to: "",
    ...CLUSTER_CRASH,
  },
  {
    name: "cluster: a dead master does not prompt a slot map refresh",
    layer: "cluster",
    file: "src/client/cluster.ts",
    from: "this.#map.failed(node);",
    to: "",
    ...CLUSTER_CRASH,
  },
  {
    name: "slot map: the last slot of each range keeps its old owner",
    layer: "cluster",
    file: "src/client/_slot_map.ts",
    from: "slot <= range.end;",
    to: "slot < range.end;",
    ...SLOT_MAP,
  },
  {
    name: "slot map: the first slot of each range keeps its old owner",
    layer: "cluster",
    file: "src/client/_slot_map.ts",
    from: "let slot = range.start;",
    to: "let slot = range.start + 1;",
    ...SLOT_MAP,
  },
  {
    name: "slot map: slot 16383 is cut from the range that ends there",
    layer: "cluster",
    file: "src/client/_slot_map.ts",
    from: "SLOT_COUNT - 1",
    to: "SLOT_COUNT - 2",
    ...SLOT_MAP,
  },
  {
    name: "retry: the last raw failure reaches the caller at the deadline",
    layer: "cluster",
    file: "src/client/_retry.ts",
    from: "throw policy.late(error);",
    to: "throw error;",
    tests: ["tests/integration/ha/ha_cluster_test.ts"],
    filter: "CLUSTERDOWN until its deadline",
  },
];

const SENTINEL_TESTS = ["tests/integration/ha/ha_sentinel_test.ts"];
/** Which node is master, and when to leave one, with fake Sentinels. */
const MASTER_CHOICE_TESTS = [
  "tests/integration/sentinel_master_choice_test.ts",
];
/** The tests with fake Sentinels, which stage a disagreement or a failover on cue. */
const SENTINEL_FAKES = "newest configuration epoch|promotes a replica|abort";

const SENTINEL: readonly Mutation[] = [
  {
    name:
      "Sentinel: the master a +switch-master replaced is taken when the new one cannot be reached",
    layer: "sentinel",
    file: "src/client/_sentinel_views.ts",
    from: "view.address === replaced?.address && newest <= replaced.epoch",
    to: "false",
    tests: MASTER_CHOICE_TESTS,
    filter: "old epoch",
  },
  {
    name:
      "Sentinel: a master found by answers from before a +switch-master is taken after it",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from: "if (this.#switches !== switches) {",
    to: "if (false) {",
    tests: MASTER_CHOICE_TESTS,
    filter: "however late",
  },
  {
    name:
      "Sentinel: a hold ends on a majority that leaves out the Sentinel running the failover",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from:
      '[...this.#holders].every((i) => answers[i]?.status === "fulfilled");',
    to: "true;",
    tests: ["tests/integration/ha/ha_sentinel_test.ts"],
    filter: "answers late",
  },
  {
    name: "Sentinel: the most named master wins, whatever its epoch",
    layer: "sentinel",
    file: "src/client/_sentinel_views.ts",
    from: "if (view.epoch !== newest) continue;",
    to: "",
    tests: SENTINEL_TESTS,
    filter: SENTINEL_FAKES,
  },
  {
    name: "Sentinel: a promotion in progress goes unseen",
    layer: "sentinel",
    file: "src/client/_sentinel_views.ts",
    from: `promoting: flags.includes("failover_in_progress") &&`,
    to: `promoting: false &&`,
    tests: SENTINEL_TESTS,
    filter: SENTINEL_FAKES,
  },
  {
    name: "Sentinel: commands go to the master during a failover",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from:
      "if (master !== null && !this.#failover.held && master.client.connected) {",
    to: "if (master !== null && master.client.connected) {",
    tests: SENTINEL_TESTS,
    filter: SENTINEL_FAKES,
  },
  {
    name: "Sentinel: a call held past its deadline says it may have run",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from: `so it was never sent. It is safe to send again.\`,
        { executed: "no", cause: last },`,
    to: `so it was never sent. It is safe to send again.\`,
        { cause: last },`,
    tests: SENTINEL_TESTS,
    filter: SENTINEL_FAKES,
  },
  {
    name: "Sentinel: a node is taken as master without asking its ROLE",
    layer: "sentinel",
    file: "src/client/_sentinel_views.ts",
    from: `role[0] === "master"`,
    to: "true",
    tests: MASTER_CHOICE_TESTS,
  },
  {
    name:
      "Sentinel: READONLY from a demoted master does not look for the new one",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from: `.code === "READONLY") {`,
    to: `.code === "READONLY-not") {`,
    tests: SENTINEL_TESTS,
    filter: "Demotion",
  },
  {
    name: "Sentinel: a master answering LOADING fails the call, not waited for",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from: `|| error.code === "LOADING"`,
    to: "",
    tests: MASTER_CHOICE_TESTS,
  },
  {
    name: "Sentinel: commands keep going to the old master during a failover",
    layer: "sentinel",
    file: "src/client/_failover_hold.ts",
    from: "this.#held = true;",
    to: "this.#held = false;",
    tests: SENTINEL_TESTS,
    filter: SENTINEL_FAKES,
  },
  {
    name: "Sentinel: +switch-master leaves the old master in use",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from: "this.#suspect(old);",
    to: "void old;",
    tests: MASTER_CHOICE_TESTS,
  },
];

const BUS_TESTS = ["tests/unit/subject_event_bus_test.ts"];

const EVENTS: readonly Mutation[] = [
  {
    name:
      "event bus: a pattern matches the end of a type (user.* ~ myuser.login)",
    layer: "events",
    file: "src/subject/event_bus.ts",
    from: "`^${source}$`",
    to: "`${source}$`",
    tests: BUS_TESTS,
  },
  {
    name:
      "event bus: a pattern matches the start of a type (*.login ~ user.login.failed)",
    layer: "events",
    file: "src/subject/event_bus.ts",
    from: "`^${source}$`",
    to: "`^${source}`",
    tests: BUS_TESTS,
  },
  {
    name:
      "event bus: a pattern's regular-expression characters are not escaped",
    layer: "events",
    file: "src/subject/event_bus.ts",
    from: String.raw`char.replace(/[\\^$.|+()[\]{}]/g, "\\$&")`,
    to: "char",
    tests: BUS_TESTS,
  },
  {
    name: "event bus: ? matches one or none",
    layer: "events",
    file: "src/subject/event_bus.ts",
    from: `? "."`,
    to: `? ".?"`,
    tests: BUS_TESTS,
  },
  {
    name: "event bus: * needs at least one character",
    layer: "events",
    file: "src/subject/event_bus.ts",
    from: `? ".*"`,
    to: `? ".+"`,
    tests: BUS_TESTS,
  },
  {
    name: "event bus: * and ? do not match a line break",
    layer: "events",
    file: "src/subject/event_bus.ts",
    from: `"su"`,
    to: `"u"`,
    tests: BUS_TESTS,
  },
  {
    name: "event bus: ? matches half of a character outside the BMP",
    layer: "events",
    file: "src/subject/event_bus.ts",
    from: `"su"`,
    to: `"s"`,
    tests: BUS_TESTS,
  },
  {
    name: "event bus: a plain type matches every type ending with it",
    layer: "events",
    file: "src/subject/event_bus.ts",
    from: "eventType === pattern",
    to: "eventType.endsWith(pattern)",
    tests: BUS_TESTS,
  },
  {
    name: "client events: a forwarded event loses its details (no address)",
    layer: "events",
    file: "src/client/events.ts",
    from: "target.dispatchEvent(new Ctor(e));",
    to: "target.dispatchEvent(new Event(e.type));",
    tests: ["tests/integration/client_events_test.ts"],
    filter: "passes on",
  },
  {
    name: "client events: a node's error events are not forwarded",
    layer: "events",
    file: "src/client/events.ts",
    from: `["connect", "disconnect", "reconnecting", "error"]`,
    to: `["connect", "disconnect", "reconnecting"]`,
    tests: ["tests/integration/client_events_test.ts"],
  },
];

const MEMORY_TESTS = ["tests/unit/storage_memory_test.ts"];

const MEMORY: readonly Mutation[] = [
  {
    name: "memory store: conditions ignored",
    layer: "memory",
    file: "src/storage/memory_storage.ts",
    from: "if (current !== check.expected) {",
    to: "if (false) {",
    tests: MEMORY_TESTS,
    filter: "conditioned|function set",
  },
  {
    name:
      "memory: a deleted subject's expiry outlives it and applies to the next write",
    layer: "memory",
    file: "src/storage/memory_storage.ts",
    from: `this.#fields.delete(name);
    this.#deadlines.delete(name);`,
    to: "this.#fields.delete(name);",
    tests: MEMORY_TESTS,
  },
  {
    name:
      "memory: deleting the last property leaves an empty subject, expiry and all",
    layer: "memory",
    file: "src/storage/memory_storage.ts",
    from: "if (fields.size === 0) this.#subjects.delete(this.#name);",
    to: "",
    tests: MEMORY_TESTS,
  },
  {
    name: "memory: flush empties the subject but keeps its expiry",
    layer: "memory",
    file: "src/storage/memory_storage.ts",
    from: `flush(): Promise<this> {
    this.#subjects.delete(this.#name);`,
    to: `flush(): Promise<this> {
    this.#fields()?.clear();`,
    tests: MEMORY_TESTS,
  },
  {
    name:
      "memory: an expired subject's deadline stays, so the next write expires at once",
    layer: "memory",
    file: "src/storage/memory_storage.ts",
    from: "deadline <= Date.now()) this.delete(name);",
    to: "deadline <= Date.now()) this.#fields.delete(name);",
    tests: MEMORY_TESTS,
  },
];

/** Every mutation, layer by layer. */
export const MUTATIONS: readonly Mutation[] = [
  ...STORAGE,
  ...JSON_CODEC,
  ...SUBJECT,
  ...CLIENT,
  ...CLUSTER,
  ...SENTINEL,
  ...EVENTS,
  ...MEMORY,
];
