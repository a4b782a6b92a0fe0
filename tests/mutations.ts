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
  | "memory";

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

const STORE_SCRIPT_LOOPS = `for first = 2, last_pair, chunk do
  redis.call('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, last_pair)))
end
for first = last_pair + 1, #ARGV, chunk do
  redis.call('HDEL', key, unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end`;

const STORAGE: readonly Mutation[] = [
  {
    name: "store script: deletes run before sets",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: STORE_SCRIPT_LOOPS,
    to: `for first = last_pair + 1, #ARGV, chunk do
  redis.call('HDEL', key, unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end
for first = 2, last_pair, chunk do
  redis.call('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, last_pair)))
end`,
    tests: ["tests/storage_redis_test.ts"],
    filter: "ends deleted",
  },
  {
    name: "store script: deletes dropped",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: STORE_SCRIPT_LOOPS,
    to: `for first = 2, last_pair, chunk do
  redis.call('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, last_pair)))
end`,
    tests: ["tests/storage_redis_test.ts"],
    filter: "storage contract",
  },
  {
    name: "store: sets split into one HSET per field, sent in the same tick",
    layer: "storage",
    file: "src/storage/redis/redis_storage.ts",
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
    layer: "storage",
    file: "src/storage/redis/redis_storage.ts",
    from: `await this.#run(STORE_SCRIPT, [
        sets.length / 2,
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
    layer: "storage",
    file: "src/storage/_checks.ts",
    from: "return prop.type + prop.name;",
    to: `return "p" + prop.name;`,
    tests: ["tests/storage_redis_test.ts"],
    filter: "storage contract",
  },
  {
    name: "store encoding: values stored as String(value), not JSON",
    layer: "storage",
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
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
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
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: "if unchanged then",
    to: "if true then",
    tests: ["tests/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name: "compare-and-set script: an absent field always counts as unchanged",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: "unchanged = current == false",
    to: "unchanged = true",
    tests: ["tests/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name: "compare-and-set script: a present field only has to be present",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from: "unchanged = current == ARGV[3]",
    to: "unchanged = current ~= false",
    tests: ["tests/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name:
      "compare-and-set combiner: each update computed from the batch's read",
    layer: "storage",
    file: "src/storage/redis/_cas_combiner.ts",
    from: "text = written = encodeValue(this.#property, value);",
    to: "written = encodeValue(this.#property, value);",
    tests: ["tests/concurrency_test.ts"],
    filter: "increments",
  },
  {
    name: "compare-and-set retries: no jitter (the whole bound every time)",
    layer: "storage",
    file: "src/storage/redis/_cas_combiner.ts",
    from: "  floor: 0,\n};",
    to: "  floor: 1,\n};",
    tests: ["tests/storage_redis_test.ts"],
    filter: "compare-and-set",
  },
  {
    name: "backoff: no jitter for anyone",
    layer: "storage",
    file: "src/async/backoff.ts",
    from: "return bound * (policy.floor + Math.random() * (1 - policy.floor));",
    to: "return bound;",
    tests: ["tests/backoff_test.ts", "tests/storage_redis_test.ts"],
    filter: "backoff|compare-and-set",
  },
  {
    name: "scripts: no EVAL fallback on NOSCRIPT",
    layer: "storage",
    file: "src/storage/redis/scripts.ts",
    from:
      `if (!(error instanceof RedisReplyError) || error.code !== "NOSCRIPT") {`,
    to: `if (true) {`,
    tests: ["tests/storage_redis_test.ts"],
    filter: "NOSCRIPT",
  },
  {
    name: "decoding: corrupt JSON comes back as its text",
    layer: "storage",
    file: "src/json/codec.ts",
    from: "throw new CorruptValueError(key, field, { cause: error });",
    to: "return text;",
    tests: ["tests/bad_input_storage_test.ts"],
    filter: "corrupt",
  },
  {
    name: "redaction: a parsed URL keeps its password",
    layer: "storage",
    file: "src/client/url.ts",
    from: `copy.password = "***";`,
    to: `copy.password = url.password;`,
    tests: ["tests/url_test.ts", "tests/security_test.ts"],
  },
  {
    name: "redaction: unparsable text keeps its password",
    layer: "storage",
    file: "src/client/url.ts",
    from: `if (at !== -1) return scheme + "***" + text.slice(at);`,
    to: `if (at !== -1) return text;`,
    tests: ["tests/url_test.ts", "tests/security_test.ts"],
  },
];

/** Tests of a client's reconnect, across the files that restart a server. */
const RECONNECT_TESTS = [
  "tests/client_test.ts",
  "tests/client_deadline_test.ts",
  "tests/client_events_test.ts",
];
const RECONNECT_FILTER =
  "[Rr]econnect|restart|SELECT|SETNAME|AUTH|database|client name";
/** Tests of commands' deadlines, on a live connection or none. */
const DEADLINE_TESTS = [
  "tests/client_deadline_test.ts",
  "tests/client_pending_test.ts",
  "tests/client_dead_connection_test.ts",
  "tests/client_test.ts",
  "tests/faults_test.ts",
];
const DEADLINE_FILTER =
  "deadline|[Tt]imeout|times? out|paused|stall|overload|expired|offline|waiting";
const GUARD_TESTS = ["tests/client_guard_test.ts"];
const SECRET_TESTS = ["tests/client_secrets_test.ts", "tests/security_test.ts"];
/** waitReplicas over a single server with replicas, Sentinel and Cluster. */
const WAIT_TESTS = ["tests/ha_sentinel_test.ts", "tests/ha_cluster_test.ts"];
const WAIT_FILTER = "waitReplicas|WAIT";

const CLIENT: readonly Mutation[] = [
  {
    name: "reconnect: the URL's database is not selected again",
    layer: "client",
    file: "src/client/client.ts",
    from: "if (db !== 0) {",
    to: "if (db !== 0 && !this.#everConnected) {",
    tests: RECONNECT_TESTS,
    filter: RECONNECT_FILTER,
  },
  {
    name: "reconnect: AUTH drops the URL's user name (the default user's)",
    layer: "client",
    file: "src/client/client.ts",
    from: "username === undefined",
    to: "(username === undefined || this.#everConnected)",
    tests: RECONNECT_TESTS,
    filter: RECONNECT_FILTER,
  },
  {
    name: "reconnect: the client name is not set again",
    layer: "client",
    file: "src/client/client.ts",
    from: "if (this.#settings.clientName !== undefined) {",
    to:
      "if (this.#settings.clientName !== undefined && !this.#everConnected) {",
    tests: RECONNECT_TESTS,
    filter: RECONNECT_FILTER,
  },
  {
    name:
      "reconnect: a LOADING server fails the connect instead of being waited for",
    layer: "client",
    file: "src/client/client.ts",
    from: `"LOADING"`,
    to: `"LOADING-not"`,
    tests: [...RECONNECT_TESTS, "tests/faults_test.ts"],
    filter: `${RECONNECT_FILTER}|LOADING`,
  },
  {
    name:
      "offline queue: only the commands due at the first deadline time out, later ones wait on",
    layer: "client",
    file: "src/client/client.ts",
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
    name: "scrub: a short secret is hidden only where it first appears",
    layer: "client",
    file: "src/client/_scrub.ts",
    from: `text.replaceAll(secret, "***")`,
    to: `text.replace(secret, "***")`,
    tests: SECRET_TESTS,
  },
  {
    name: "scrub: a long secret is hidden only where it first appears",
    layer: "client",
    file: "src/client/_scrub.ts",
    from: "from = text.indexOf(start, from + 3);",
    to: "from = -1;",
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
  {
    name: "waitReplicas: no WAIT after EVAL (first run, or after NOSCRIPT)",
    layer: "client",
    file: "src/storage/redis/_replicated.ts",
    from: `"EVAL"`,
    to: `"EVAL-not"`,
    tests: WAIT_TESTS,
    filter: WAIT_FILTER,
  },
  {
    name: "waitReplicas: no WAIT after EVALSHA",
    layer: "client",
    file: "src/storage/redis/_replicated.ts",
    from: `"EVALSHA"`,
    to: `"EVALSHA-not"`,
    tests: WAIT_TESTS,
    filter: WAIT_FILTER,
  },
  {
    name: "waitReplicas: no WAIT after HSET",
    layer: "client",
    file: "src/storage/redis/_replicated.ts",
    from: `"HSET"`,
    to: `"HSET-not"`,
    tests: WAIT_TESTS,
    filter: WAIT_FILTER,
  },
  {
    name: "waitReplicas: no WAIT after HDEL",
    layer: "client",
    file: "src/storage/redis/_replicated.ts",
    from: `"HDEL"`,
    to: `"HDEL-not"`,
    tests: WAIT_TESTS,
    filter: WAIT_FILTER,
  },
];

const CLUSTER_TESTS = [
  "tests/cluster_test.ts",
  "tests/cluster_slot_map_test.ts",
  "tests/ha_cluster_test.ts",
];
const CLUSTER_FILTER =
  "[Kk]illed|crash|slot|[Ff]ailover|new owner|every slot|parseClusterSlots";

const CLUSTER: readonly Mutation[] = [
  {
    name:
      "cluster: a command not executed is retried on the node that failed, not the slot's new owner",
    layer: "cluster",
    file: "src/client/cluster.ts",
    from: "node = this.#map.owner(slot) ?? node;",
    to: "",
    tests: CLUSTER_TESTS,
    filter: CLUSTER_FILTER,
  },
  {
    name: "cluster: a dead master does not prompt a slot map refresh",
    layer: "cluster",
    file: "src/client/cluster.ts",
    from: "this.#map.failed(node);",
    to: "",
    tests: CLUSTER_TESTS,
    filter: CLUSTER_FILTER,
  },
  {
    name: "slot map: the last slot of each range keeps its old owner",
    layer: "cluster",
    file: "src/client/_slot_map.ts",
    from: "slot <= range.end;",
    to: "slot < range.end;",
    tests: CLUSTER_TESTS,
    filter: CLUSTER_FILTER,
  },
  {
    name: "slot map: the first slot of each range keeps its old owner",
    layer: "cluster",
    file: "src/client/_slot_map.ts",
    from: "let slot = range.start;",
    to: "let slot = range.start + 1;",
    tests: CLUSTER_TESTS,
    filter: CLUSTER_FILTER,
  },
  {
    name: "slot map: slot 16383 is cut from the range that ends there",
    layer: "cluster",
    file: "src/client/_slot_map.ts",
    from: "SLOT_COUNT - 1",
    to: "SLOT_COUNT - 2",
    tests: CLUSTER_TESTS,
    filter: CLUSTER_FILTER,
  },
];

const SENTINEL_TESTS = ["tests/ha_sentinel_test.ts"];

const SENTINEL: readonly Mutation[] = [
  {
    name: "Sentinel: a node is taken as master without asking its ROLE",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from: `role[0] === "master"`,
    to: "true",
    tests: SENTINEL_TESTS,
  },
  {
    name:
      "Sentinel: READONLY from a demoted master does not look for the new one",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from: `.code === "READONLY") {`,
    to: `.code === "READONLY-not") {`,
    tests: SENTINEL_TESTS,
  },
  {
    name: "Sentinel: a master answering LOADING fails the call, not waited for",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from: `|| error.code === "LOADING"`,
    to: "",
    tests: SENTINEL_TESTS,
  },
  {
    name: "Sentinel: commands keep going to the old master during a failover",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from: "this.#held = true;",
    to: "this.#held = false;",
    tests: SENTINEL_TESTS,
  },
  {
    name: "Sentinel: +switch-master leaves the old master in use",
    layer: "sentinel",
    file: "src/client/sentinel.ts",
    from: "this.#suspect(old);",
    to: "void old;",
    tests: SENTINEL_TESTS,
  },
];

const BUS_TESTS = ["tests/subject_event_bus_test.ts"];

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
    tests: ["tests/client_events_test.ts"],
    filter: "passes on",
  },
  {
    name: "client events: a node's error events are not forwarded",
    layer: "events",
    file: "src/client/events.ts",
    from: `["connect", "disconnect", "reconnecting", "error"]`,
    to: `["connect", "disconnect", "reconnecting"]`,
    tests: ["tests/client_events_test.ts"],
  },
];

const MEMORY_TESTS = ["tests/storage_memory_test.ts"];

const MEMORY: readonly Mutation[] = [
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
  ...CLIENT,
  ...CLUSTER,
  ...SENTINEL,
  ...EVENTS,
  ...MEMORY,
];
