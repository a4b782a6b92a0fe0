import { type SupportedClient, toRedisSender } from "../client/adapters/mod.ts";
import type { RedisReply, RedisSender } from "../client/types.ts";
import {
  decodeAll,
  decodeValue,
  encodeValue,
  FieldText,
} from "../json/codec.ts";
import { checkSubjectName } from "../json/names.ts";
import { checkProperty, encodeChanges, fieldOf } from "./_checks.ts";
import { CasCombiner } from "./_cas_combiner.ts";
import { PropertyNotFoundError } from "./errors.ts";
import { type Property, PropertyType } from "./property.ts";
import { runScript, SET_SCRIPT, STORE_SCRIPT } from "./scripts.ts";
import { replicatedSender } from "./_replicated.ts";
import type {
  EncodedValue,
  StorageContext,
  StorageFactory,
  StoreChanges,
  SubjectStorage,
} from "./types.ts";

/** The default of {@linkcode RedisStorageOptions.maxCasAttempts}. */
export const DEFAULT_MAX_CAS_ATTEMPTS = 100;

// Lets the factory give the storages it opens its one combiner; set in the
// class's static block, the only code that may touch its private fields.
let shareCombiner: (
  storage: SubjectsRedisStorage,
  combiner: CasCombiner,
) => void;

/** Options of {@linkcode createRedisStorage} and {@linkcode SubjectsRedisStorage}. */
export interface RedisStorageOptions {
  /**
   * Text between `s:` and the subject name in every key, to keep the subjects
   * of several applications apart in one database. Use the same prefix as the
   * Python services that share the data.
   *
   * @default {""}
   */
  keyPrefix?: string;
  /**
   * How many compare-and-set attempts a `set()` with a function value makes
   * before it gives up with `ConflictError`. Attempts after the second wait
   * a random delay of up to 50 ms, so the default rides out heavy contention
   * from many processes for a few seconds.
   *
   * @default {100}
   */
  maxCasAttempts?: number;
  /**
   * Replicas that must acknowledge every write (store, set, function set,
   * delete, flush) before it resolves. Each write is followed by
   * `WAIT waitReplicas waitTimeoutMs` on the same connection, in the same
   * socket write; if fewer replicas acknowledge it in time, the call rejects
   * with `ReplicationError`: the master applied the write, but a failover
   * could lose it. With `0`, writes resolve once the master applied them.
   *
   * `WAIT` holds back that connection's later replies until the replicas
   * acknowledge (or the timeout passes), so reads queued behind a write wait
   * for it too. Needs this module's client (single, cluster or Sentinel), and
   * a `commandTimeoutMs` longer than `waitTimeoutMs`.
   *
   * @default {0}
   */
  waitReplicas?: number;
  /**
   * Milliseconds `WAIT` waits for `waitReplicas` acknowledgements.
   *
   * @default {1000}
   */
  waitTimeoutMs?: number;
}

/**
 * The storage of one subject in one Redis hash, laid out exactly as KRules'
 * Python `SubjectsRedisStorage` lays it out: key `s:{keyPrefix}{subject}`,
 * field `p{name}` per default property and `e{name}` per extended one, each
 * value as JSON text. A Python service and this one read each other's data.
 *
 * Every command touches the one key, so it works on Redis Cluster, and the
 * multi-step operations are Lua scripts, so they are atomic without
 * WATCH/MULTI/EXEC and safe on one shared, auto-pipelined connection.
 *
 * Hash fields whose name starts with neither `p` nor `e` belong to someone
 * else and are ignored.
 *
 * @example
 * ```ts ignore
 * import { createRedisClient, SubjectProperty, SubjectsRedisStorage } from "@x/redis-subjects";
 *
 * await using client = await createRedisClient("redis://localhost:6379/0");
 * const storage = new SubjectsRedisStorage("user-1", client, { keyPrefix: "app:" });
 * await storage.set(new SubjectProperty("logins", (n: unknown) => Number(n ?? 0) + 1));
 * console.log(storage.key); // "s:app:user-1"
 * ```
 */
export class SubjectsRedisStorage implements SubjectStorage {
  /** The Redis key of the subject's hash: `s:{keyPrefix}{subject}`. */
  readonly key: string;
  readonly #client: RedisSender;
  readonly #maxCasAttempts: number;
  #combiner: CasCombiner | undefined;

  static {
    shareCombiner = (storage, combiner) => {
      storage.#combiner = combiner;
    };
  }

  /**
   * Opens the storage of one subject. Nothing is sent until the first call.
   *
   * @param subject The subject name; an empty name throws `TypeError`.
   * @param client The connection to send commands on.
   * @param options The key prefix and compare-and-set limit.
   */
  constructor(
    subject: string,
    client: RedisSender,
    options?: RedisStorageOptions,
  ) {
    checkSubjectName(subject);
    checkCommands(client);
    const { keyPrefix, maxCasAttempts, waitReplicas, waitTimeoutMs } =
      checkOptions(options ?? {});
    this.key = `s:${keyPrefix}${subject}`;
    this.#client = waitReplicas > 0
      ? replicatedSender(client, waitReplicas, waitTimeoutMs)
      : client;
    this.#maxCasAttempts = maxCasAttempts;
  }

  /**
   * Always `true`: a function `set()` is an atomic read-modify-write.
   *
   * @returns `true`.
   */
  isConcurrencySafe(): boolean {
    return true;
  }

  /**
   * Always `true`: values live in Redis.
   *
   * @returns `true`.
   */
  isPersistent(): boolean {
    return true;
  }

  /**
   * Reads every property with one `HGETALL`.
   *
   * @returns The default properties and the extended properties.
   * @throws {CorruptValueError} When a field does not hold valid JSON.
   */
  async load(): Promise<
    [props: Record<string, unknown>, extProps: Record<string, unknown>]
  > {
    const [props, extProps] = await this.#loadTexts();
    return [decodeAll(props), decodeAll(extProps)];
  }

  /**
   * Reads every field with one `HGETALL`, leaving the values to be decoded
   * when they are read.
   *
   * @returns The default properties and the extended properties, undecoded.
   */
  loadLazy(): Promise<
    [props: Map<string, EncodedValue>, extProps: Map<string, EncodedValue>]
  > {
    return this.#loadTexts();
  }

  async #loadTexts(): Promise<
    [props: Map<string, FieldText>, extProps: Map<string, FieldText>]
  > {
    const props = new Map<string, FieldText>();
    const extProps = new Map<string, FieldText>();
    const entries = hashEntries(
      await this.#client.send(["HGETALL", this.key]),
    );
    for (let i = 0; i < entries.length; i += 2) {
      const field = entries[i];
      const target = field[0] === PropertyType.DEFAULT
        ? props
        : field[0] === PropertyType.EXTENDED
        ? extProps
        : undefined;
      target?.set(
        field.slice(1),
        new FieldText(this.key, field, entries[i + 1]),
      );
    }
    return [props, extProps];
  }

  /**
   * Applies all inserts and updates, then all deletes, as one atomic command:
   * a single `HSET` when there is nothing to delete, a single `HDEL` when
   * there is nothing to set, and the store script when there is both. One
   * round trip either way, and a concurrent reader sees none or all of it.
   * Sends nothing when there is nothing to change. Every value is checked
   * before anything is sent, so one bad value means nothing is written.
   *
   * @param changes The properties to insert, update and delete.
   * @throws {InvalidValueError} When a value does not survive JSON.
   */
  async store(changes: StoreChanges = {}): Promise<void> {
    const encoded = encodeChanges(changes);
    if (encoded === undefined) return;
    const { sets, deletes } = encoded;
    // One command is atomic by itself, and a plain HSET costs the server
    // far less than a script doing the same.
    if (deletes.length === 0) {
      await this.#client.send(["HSET", this.key, ...sets]);
    } else if (sets.length === 0) {
      await this.#client.send(["HDEL", this.key, ...deletes]);
    } else {
      await runScript(this.#client, STORE_SCRIPT, this.key, [
        sets.length / 2,
        ...sets,
        ...deletes,
      ]);
    }
  }

  /**
   * Writes one property.
   *
   * A plain value is written in one round trip by a script that returns the
   * value it replaced, read in the same atomic step. If that old value is
   * not valid JSON, the new value has still replaced it and the call rejects
   * with `CorruptValueError`, so the loss is not silent.
   *
   * A function value is applied by optimistic compare-and-set: read the
   * field, call the function with the old value, write only if the field
   * still holds what was read, and otherwise retry with jittered backoff, up
   * to `maxCasAttempts` times. Concurrent function sets of the same property
   * through storages of the same `createRedisStorage` factory (or through
   * this one storage object) are combined into one read and one write; each
   * caller still gets its own `[newValue, oldValue]`, as if the calls ran one
   * after another. The function may run more than once, so it should have
   * no side effects.
   *
   * @param prop The property and its value, or a function of the old value.
   * @param oldValueDefault The old value to report (and to pass to a function) when the property is absent.
   * @returns The new value and the old value.
   * @throws {InvalidValueError} When the (computed) value does not survive JSON; nothing is written.
   * @throws {ConflictError} When every compare-and-set attempt lost a race.
   */
  set(
    prop: Property,
    oldValueDefault?: unknown,
  ): Promise<[newValue: unknown, oldValue: unknown]> {
    try {
      checkProperty(prop);
      const field = fieldOf(prop);
      const value = prop.value;
      if (typeof value === "function") {
        this.#combiner ??= new CasCombiner(this.#client);
        return this.#combiner.compareAndSet({
          key: this.key,
          field,
          property: prop.name,
          update: value as (old: unknown) => unknown,
          oldValueDefault,
          maxAttempts: this.#maxCasAttempts,
        });
      }
      const text = encodeValue(prop.name, value);
      // Not async: one turn of the microtask queue fewer on a hot path.
      return runScript(this.#client, SET_SCRIPT, this.key, [field, text]).then(
        (old): [unknown, unknown] =>
          old === null ? [value, oldValueDefault] : [
            value,
            decodeValue(this.key, field, expectString(old, "EVALSHA")),
          ],
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Reads one property with one `HGET`.
   *
   * @param prop The property to read.
   * @returns The stored value; a stored JSON `null` is returned as `null`.
   * @throws {PropertyNotFoundError} When the property is absent.
   * @throws {CorruptValueError} When the field does not hold valid JSON.
   */
  async get(prop: Property): Promise<unknown> {
    checkProperty(prop);
    const field = fieldOf(prop);
    const text = await this.#client.send(["HGET", this.key, field]);
    if (text === null) {
      throw new PropertyNotFoundError(
        prop.name,
        prop.type === PropertyType.EXTENDED,
      );
    }
    return decodeValue(this.key, field, expectString(text, "HGET"));
  }

  /**
   * Removes one property with one `HDEL`; an absent property is not an error.
   *
   * @param prop The property to remove.
   */
  async delete(prop: Property): Promise<void> {
    checkProperty(prop);
    await this.#client.send(["HDEL", this.key, fieldOf(prop)]);
  }

  /**
   * Reads the extended properties with one `HGETALL`.
   *
   * @returns The extended properties by name.
   * @throws {CorruptValueError} When an extended field does not hold valid JSON.
   */
  async getExtProps(): Promise<Record<string, unknown>> {
    const [, extProps] = await this.#loadTexts();
    return decodeAll(extProps);
  }

  /**
   * Deletes the subject's key with one `DEL`.
   *
   * @returns This storage.
   */
  async flush(): Promise<this> {
    await this.#client.send(["DEL", this.key]);
    return this;
  }
}

/**
 * Creates the storage factory KRules calls once per subject, every subject
 * in its own hash on the given connection. The factory ignores the event
 * context it is given.
 *
 * @param client A connection: this module's `RedisClient` or
 * `RedisClusterClient`, any object with a `send(args)` method, or a
 * node-redis, ioredis or `@db/redis` client (single or cluster), which is
 * recognised by its shape and adapted.
 * @param options The key prefix, compare-and-set limit and durability
 * (`waitReplicas`, `waitTimeoutMs`).
 * @returns A factory of {@linkcode SubjectsRedisStorage}.
 *
 * @example
 * ```ts ignore
 * import { createRedisClient, createRedisStorage, KRules } from "@x/redis-subjects";
 *
 * await using client = await createRedisClient("redis://localhost:6379/0");
 * const krules = new KRules({ storage: createRedisStorage(client, { keyPrefix: "app:" }) });
 * const user = krules.subject("user-123");
 * await user.set("name", "John");
 * await user.store();
 * ```
 */
export function createRedisStorage(
  client: RedisSender | SupportedClient,
  options?: RedisStorageOptions,
): StorageFactory {
  const sender = toRedisSender(client);
  // Checked now, so a bad option fails at start-up rather than on first use.
  const checked = checkOptions(options ?? {});
  // With waitReplicas, every write the storages send (the combiner's too)
  // is followed by WAIT.
  const writer = checked.waitReplicas > 0
    ? replicatedSender(sender, checked.waitReplicas, checked.waitTimeoutMs)
    : sender;
  // One for every storage the factory opens, so that concurrent function
  // sets of one property combine whichever subject object they come from.
  const combiner = new CasCombiner(writer);
  return (name: string, _context?: StorageContext): SubjectStorage => {
    const storage = new SubjectsRedisStorage(name, writer, checked);
    shareCombiner(storage, combiner);
    return storage;
  };
}

function checkCommands(client: RedisSender): void {
  if (
    typeof client !== "object" || client === null ||
    typeof client.send !== "function"
  ) {
    throw new TypeError(
      "The Redis storage needs a client with a send(args) method, such as the one createRedisClient() returns.",
    );
  }
}

function checkOptions(
  options: RedisStorageOptions,
): Required<RedisStorageOptions> {
  const keyPrefix = options.keyPrefix ?? "";
  const maxCasAttempts = options.maxCasAttempts ?? DEFAULT_MAX_CAS_ATTEMPTS;
  if (typeof keyPrefix !== "string" || !keyPrefix.isWellFormed()) {
    throw new TypeError(
      'keyPrefix must be a string of well-formed Unicode, e.g. "app:".',
    );
  }
  if (!Number.isSafeInteger(maxCasAttempts) || maxCasAttempts < 1) {
    throw new RangeError(
      `maxCasAttempts must be a positive integer, got ${maxCasAttempts}.`,
    );
  }
  const waitReplicas = options.waitReplicas ?? 0;
  const waitTimeoutMs = options.waitTimeoutMs ?? 1000;
  if (!Number.isSafeInteger(waitReplicas) || waitReplicas < 0) {
    throw new RangeError(
      `waitReplicas must be an integer ≥ 0, got ${waitReplicas}.`,
    );
  }
  if (!Number.isSafeInteger(waitTimeoutMs) || waitTimeoutMs < 1) {
    throw new RangeError(
      `waitTimeoutMs must be a positive integer (WAIT 0 would wait forever), got ${waitTimeoutMs}.`,
    );
  }
  return { keyPrefix, maxCasAttempts, waitReplicas, waitTimeoutMs };
}

function hashEntries(reply: RedisReply): string[] {
  if (!Array.isArray(reply) || reply.length % 2 !== 0) {
    throw new TypeError(
      `Unexpected reply to HGETALL: ${JSON.stringify(reply)}`,
    );
  }
  return reply.map((item) => expectString(item, "HGETALL"));
}

function expectString(reply: RedisReply, command: string): string {
  if (typeof reply !== "string") {
    throw new TypeError(
      `Unexpected reply to ${command}: ${JSON.stringify(reply)}`,
    );
  }
  return reply;
}
