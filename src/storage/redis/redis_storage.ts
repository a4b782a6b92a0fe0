import {
  type SupportedClient,
  toRedisSender,
} from "../../client/adapters/mod.ts";
import {
  RedisReplyError,
  RedisUnexpectedReplyError,
} from "../../client/errors.ts";
import { ReplicationError } from "../../client/replication.ts";
import type { RedisArg, RedisReply, RedisSender } from "../../client/types.ts";
import {
  decodeAll,
  decodeValue,
  encodeValue,
  FieldText,
  type UnsafeIntegers,
} from "../../json/codec.ts";
import { CorruptValueError } from "../../json/errors.ts";
import { checkSubjectName } from "../../json/names.ts";
import { backoffDelay, sleep } from "../../async/backoff.ts";
import {
  checkExpiry,
  checkProperty,
  encodeChanges,
  type EncodedChanges,
  type EncodedCheck,
  encodeSets,
  fieldOf,
  propertyText,
  recompute,
} from "../_checks.ts";
import { CasCombiner, CONFLICT_BACKOFF } from "./_cas_combiner.ts";
import { ConflictError, PropertyNotFoundError } from "../errors.ts";
import { type Property, PropertyType } from "../property.ts";
import {
  EXPIRE_SCRIPT,
  type LuaScript,
  runScript,
  SAME_SCRIPT,
  SET_MANY_SCRIPT,
  SET_SCRIPT,
  STORE_SCRIPT,
} from "./scripts.ts";
import { scanSubjectNames } from "./_scan.ts";
import {
  checkCommands,
  checkOptions,
  type RedisStorageOptions,
} from "./_options.ts";
import { replicatedSender } from "./_replicated.ts";
import type {
  EncodedValue,
  StorageContext,
  StorageFactory,
  StoreChanges,
  SubjectNamesOptions,
  SubjectStorage,
} from "../types.ts";

// What every client decodes bytes that are not UTF-8 to.
const REPLACEMENT = "\uFFFD";
// How often a field that keeps changing is checked again before giving up.
const MAX_BYTE_CHECKS = 10;

export type { RedisStorageOptions } from "./_options.ts";

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
 * ```ts
 * import { createRedisClient } from "@x/redis-subjects";
 * import { SubjectProperty, SubjectsRedisStorage } from "@x/redis-subjects/storage";
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
  /** How this storage reads and writes integers beyond ±(2^53 − 1). */
  readonly unsafeIntegers: UnsafeIntegers;
  readonly #subject: string;
  readonly #client: RedisSender;
  readonly #maxCasAttempts: number;
  /** Joins concurrent function sets of one field; made on first use unless given. */
  #combiner: CasCombiner | undefined;

  /**
   * Opens the storage of one subject. Nothing is sent until the first call.
   *
   * @param subject The subject name; an empty name throws `TypeError`.
   * @param client The connection to send commands on.
   * @param options The key prefix and compare-and-set limit.
   * @param combiner For {@linkcode createRedisStorage}, which gives every
   * storage it opens its one combiner, so that concurrent function sets of
   * one field join one batch whichever storage they come through. Without
   * it, the storage makes its own on its first function set.
   */
  constructor(
    subject: string,
    client: RedisSender,
    options?: RedisStorageOptions,
    combiner?: CasCombiner,
  ) {
    checkSubjectName(subject);
    checkCommands(client);
    const {
      keyPrefix,
      maxCasAttempts,
      waitReplicas,
      waitTimeoutMs,
      unsafeIntegers,
    } = checkOptions(options ?? {});
    this.key = `s:${keyPrefix}${subject}`;
    this.unsafeIntegers = unsafeIntegers;
    this.#subject = subject;
    this.#client = waitReplicas > 0
      ? replicatedSender(client, waitReplicas, waitTimeoutMs)
      : client;
    this.#maxCasAttempts = maxCasAttempts;
    this.#combiner = combiner;
  }

  /** Sends one command; an error reply comes back naming the key. */
  #send(args: readonly RedisArg[]): Promise<RedisReply> {
    return this.#client.send(args).catch(this.#nameKey);
  }

  /** Runs a script on the key; an error reply comes back naming the key. */
  #run(script: LuaScript, args: readonly RedisArg[]): Promise<RedisReply> {
    return runScript(this.#client, script, this.key, args).catch(
      this.#nameKey,
    );
  }

  /**
   * Rethrows an error reply (e.g. `WRONGTYPE`) with the key in its message,
   * still saying whether the command ran.
   */
  readonly #nameKey = (error: unknown): never => {
    if (!(error instanceof RedisReplyError)) throw error;
    throw new RedisReplyError(error.reply, {
      command: error.command,
      executed: error.executed,
      context: `Redis refused a command on subject key ${
        JSON.stringify(this.key)
      }`,
      cause: error,
    });
  };

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
      await this.#send(["HGETALL", this.key]),
    );
    let suspects: Map<string, string> | undefined;
    for (let i = 0; i < entries.length; i += 2) {
      const field = entries[i];
      const target = field[0] === PropertyType.DEFAULT
        ? props
        : field[0] === PropertyType.EXTENDED
        ? extProps
        : undefined;
      if (target === undefined) continue;
      const text = entries[i + 1];
      if (text.includes(REPLACEMENT)) {
        (suspects ??= new Map()).set(field, text);
      }
      const name = field.slice(1);
      target.set(
        name,
        FieldText.of(this.key, field[0], name, text, this.unsafeIntegers),
      );
    }
    if (suspects !== undefined) {
      for (const [field, text] of await this.#checkBytes(suspects)) {
        const target = field[0] === PropertyType.DEFAULT ? props : extProps;
        const name = field.slice(1);
        if (text === null) target.delete(name);
        else {
          target.set(
            name,
            text === undefined
              ? FieldText.notUtf8(this.key, field[0], name)
              : FieldText.of(
                this.key,
                field[0],
                name,
                text,
                this.unsafeIntegers,
              ),
          );
        }
      }
    }
    return [props, extProps];
  }

  /**
   * Tells apart, among texts a read returned with U+FFFD in them, a stored
   * U+FFFD from bytes that are not UTF-8 (which every client decodes to
   * U+FFFD, silently): the server compares its bytes with the text. A field
   * that changed meanwhile is checked again with its new text.
   *
   * @param texts The suspect texts by field.
   * @returns Per field: its text (newer, if it changed), `null` when it is
   *   gone, or `undefined` when its bytes are not UTF-8.
   */
  async #checkBytes(
    texts: Map<string, string>,
  ): Promise<Map<string, string | null | undefined>> {
    const result = new Map<string, string | null | undefined>(texts);
    let pending = [...texts];
    for (let round = 1; pending.length > 0; round++) {
      const reply = await this.#run(SAME_SCRIPT, pending.flat());
      if (!Array.isArray(reply) || reply.length !== pending.length) {
        throw new RedisUnexpectedReplyError("the byte-check script", reply);
      }
      const changed: [string, string][] = [];
      for (let i = 0; i < pending.length; i++) {
        const [field, text] = pending[i];
        const same = reply[i];
        if (same === 1) continue;
        const current = Array.isArray(same) ? same[0] : undefined;
        if (current === text) {
          // The same text from other bytes: the bytes are not UTF-8.
          result.set(field, undefined);
        } else if (current === null) {
          result.set(field, null);
        } else if (typeof current === "string") {
          result.set(field, current);
          if (!current.includes(REPLACEMENT)) continue;
          if (round >= MAX_BYTE_CHECKS) {
            throw new ConflictError(this.key, field.slice(1), round);
          }
          changed.push([field, current]);
        } else {
          throw new RedisUnexpectedReplyError("the byte-check script", reply);
        }
      }
      pending = changed;
    }
    return result;
  }

  /** Decodes a field's text strictly: U+FFFD in it is checked against the bytes. */
  async #decodeStrict(field: string, text: string): Promise<unknown> {
    if (!text.includes(REPLACEMENT)) {
      return decodeValue(this.key, field, text, this.unsafeIntegers);
    }
    const checked = (await this.#checkBytes(new Map([[field, text]]))).get(
      field,
    );
    if (checked === null) {
      throw new PropertyNotFoundError(this.#subject, field.slice(1), {
        extended: field[0] === PropertyType.EXTENDED,
      });
    }
    if (checked === undefined) throw new CorruptValueError(this.key, field);
    return decodeValue(this.key, field, checked, this.unsafeIntegers);
  }

  /**
   * Applies all inserts and updates, then all deletes, as one atomic command:
   * a single `HSET` when there is nothing to delete, a single `HDEL` when
   * there is nothing to set, and the store script when there is both. One
   * round trip either way, and a concurrent reader sees none or all of it.
   * Sends nothing when there is nothing to change. Every value is checked
   * before anything is sent, so one bad value means nothing is written.
   *
   * With conditions, the store script checks them in the same atomic step:
   * still one round trip when they hold. When one does not, nothing is
   * written; its value is computed again from the text the script returned,
   * and the store is tried again, after the second conflict with jittered
   * backoff, up to `maxCasAttempts` times in all.
   *
   * @param changes The properties to insert, update and delete.
   * @throws {InvalidValueError} When a value does not survive JSON.
   * @throws {ConflictError} When a condition failed on every attempt; nothing is written.
   * @throws {CorruptValueError} When a conditioned field changed to text that is not valid JSON, or bytes that are not UTF-8; nothing is written.
   */
  store(changes: StoreChanges = {}): Promise<void> {
    // Not an async function: one keeps its arguments until it returns, and
    // `changes` holds every property of the batch. Once encoded into the
    // command they are garbage, not something to carry through the round
    // trip (and through the garbage collector's copying, for a thousand
    // stores in flight).
    try {
      // One command is atomic by itself, and a plain HSET or HDEL costs the
      // server far less than a script doing the same.
      if (setsOnly(changes)) {
        // The commonest store, a batch of sets: its HSET built in one array.
        const hset = encodeSets(changes, this.unsafeIntegers, [
          "HSET",
          this.key,
        ]);
        return hset.length === 2
          ? Promise.resolve()
          : this.#send(hset).then(nothing);
      }
      const encoded = encodeChanges(changes, this.unsafeIntegers);
      if (encoded === undefined) return Promise.resolve();
      const { sets, deletes, checks } = encoded;
      if (checks.length > 0) return this.#storeChecked(encoded);
      const written = sets.length === 0
        ? this.#send(["HDEL", this.key, ...deletes])
        : this.#run(STORE_SCRIPT, [sets.length / 2, 0, ...sets, ...deletes]);
      return written.then(nothing);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs a store with conditions until they hold, or `maxCasAttempts`. */
  async #storeChecked(
    { sets, deletes, checks }: EncodedChanges,
  ): Promise<void> {
    for (let attempt = 1;; attempt++) {
      const conditions: string[] = [];
      for (const { field, expected } of checks) {
        conditions.push(field, expected === null ? "0" : "1", expected ?? "");
      }
      const reply = await this.#run(STORE_SCRIPT, [
        sets.length / 2,
        checks.length,
        ...sets,
        ...conditions,
        ...deletes,
      ]).catch(wroteNothing);
      if (reply === 1) return;
      if (!Array.isArray(reply) || reply.length !== checks.length) {
        throw new RedisUnexpectedReplyError("the store script", reply);
      }
      let lost: EncodedCheck | undefined;
      for (let i = 0; i < checks.length; i++) {
        if (reply[i] === 1) continue;
        const check = checks[i];
        const current = (reply[i] as RedisReply[])[0];
        if (typeof current !== "string" && current !== null) {
          throw new RedisUnexpectedReplyError("the store script", reply);
        }
        if (current === check.expected) {
          // The text matched but the bytes did not: bytes that are not
          // UTF-8, which no text read from them can ever match.
          throw new CorruptValueError(this.key, check.field);
        }
        lost ??= check;
        recompute(this.key, check, sets, current, this.unsafeIntegers);
      }
      if (lost === undefined) {
        throw new RedisUnexpectedReplyError("the store script", reply);
      }
      if (attempt >= this.#maxCasAttempts) {
        throw new ConflictError(this.key, lost.name, attempt);
      }
      // The script returned the values it saw, so the first retry goes at
      // once; after that, writers contending this hard fall out of step.
      if (attempt >= 2) {
        await sleep(backoffDelay(attempt - 1, CONFLICT_BACKOFF));
      }
    }
  }

  /**
   * Writes one property.
   *
   * A plain value is written in one round trip by a script that returns the
   * value it replaced, read in the same atomic step. A plain set needs no old
   * value to compute the new one, so it also repairs a field that does not
   * hold valid JSON: it replaces it and reports the old value as absent
   * (`oldValueDefault`), as a read of that field would have found nothing
   * usable. Reads and function sets of a corrupt field reject with
   * `CorruptValueError` instead, and write nothing.
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
   * @throws {CorruptValueError} When a function value meets a field that does not hold valid JSON; nothing is written.
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
        this.#combiner ??= new CasCombiner(this.#client, this.unsafeIntegers);
        return this.#combiner.compareAndSet({
          key: this.key,
          field,
          property: prop.name,
          update: value as (old: unknown) => unknown,
          oldValueDefault,
          maxAttempts: this.#maxCasAttempts,
        }).catch(this.#nameKey);
      }
      const text = encodeValue(prop.name, value, this.unsafeIntegers);
      // Not async: one turn of the microtask queue fewer on a hot path.
      return runScript(this.#client, SET_SCRIPT, this.key, [field, text]).then(
        (old): [unknown, unknown] => [
          value,
          old === null
            ? oldValueDefault
            : this.#replaced(field, old, oldValueDefault),
        ],
        this.#nameKey,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Writes several properties with one script, atomically, returning the
   * values they replaced. Every value is checked before anything is sent.
   *
   * @param props The properties and their values.
   * @returns The old values, in the order of `props` (`undefined` where
   *   absent). A replaced value that was not valid JSON in UTF-8 counts as
   *   absent: the write repairs that field, as a plain `set()` does.
   * @throws {InvalidValueError} When a value does not survive JSON; nothing is written.
   */
  async setMany(props: readonly Property[]): Promise<unknown[]> {
    const args: string[] = [];
    for (const prop of props) {
      const text = propertyText(prop, this.unsafeIntegers);
      args.push(fieldOf(prop), text);
    }
    if (args.length === 0) return [];
    const reply = await this.#run(SET_MANY_SCRIPT, args);
    if (!Array.isArray(reply) || reply.length !== props.length) {
      throw new RedisUnexpectedReplyError("the set-many script", reply);
    }
    return reply.map((old, i) =>
      old === null ? undefined : this.#replaced(args[2 * i], old, undefined)
    );
  }

  /**
   * The value a plain write replaced, from what the set scripts return: the
   * old field text, or an old value that is not UTF-8 wrapped in an array.
   * An old value that is not valid JSON counts as absent (`absent`): the
   * write has replaced it, which repairs the field, and there was no value
   * to report.
   */
  #replaced(field: string, old: RedisReply, absent: unknown): unknown {
    if (Array.isArray(old)) return absent;
    try {
      return decodeValue(
        this.key,
        field,
        expectString(old, "EVALSHA"),
        this.unsafeIntegers,
      );
    } catch (error) {
      if (error instanceof CorruptValueError) return absent;
      throw error;
    }
  }

  /**
   * Sets (`PEXPIRE`) or clears (`PERSIST`) the expiry of the subject's key,
   * in one script that leaves an absent key alone. One key, so it works on
   * Redis Cluster.
   *
   * @param ms Milliseconds from now, a positive integer, or `null` to clear.
   * @returns Whether the key exists.
   * @throws {RangeError} When `ms` is not a positive integer or `null`.
   */
  async expire(ms: number | null): Promise<boolean> {
    checkExpiry(ms);
    const reply = await this.#run(EXPIRE_SCRIPT, [
      ms === null ? "" : ms,
    ]);
    return reply === 1;
  }

  /**
   * Reads the expiry of the subject's key with one `PTTL`.
   *
   * @returns Milliseconds left, or `null` when the key has no expiry or does not exist.
   */
  async ttl(): Promise<number | null> {
    const reply = await this.#send(["PTTL", this.key]);
    if (typeof reply !== "number") {
      throw new RedisUnexpectedReplyError("PTTL", reply);
    }
    return reply < 0 ? null : reply;
  }

  /**
   * Reads one property with one `HGET`.
   *
   * @param prop The property to read.
   * @returns The stored value; a stored JSON `null` is returned as `null`.
   * @throws {PropertyNotFoundError} When the property is absent.
   * @throws {CorruptValueError} When the field does not hold valid JSON.
   */
  get(prop: Property): Promise<unknown> {
    try {
      checkProperty(prop);
    } catch (error) {
      return Promise.reject(error);
    }
    const field = fieldOf(prop);
    // Not async, and one promise for the reply and its decoding: this is
    // the hottest read, and every extra turn of the microtask queue shows.
    return this.#client.send(["HGET", this.key, field]).then((text) => {
      if (text === null) {
        throw new PropertyNotFoundError(this.#subject, prop.name, {
          extended: prop.type === PropertyType.EXTENDED,
        });
      }
      const decoded = expectString(text, "HGET");
      return decoded.includes(REPLACEMENT)
        ? this.#decodeStrict(field, decoded)
        : decodeValue(this.key, field, decoded, this.unsafeIntegers);
    }, this.#nameKey);
  }

  /**
   * Removes one property with one `HDEL`; an absent property is not an error.
   *
   * @param prop The property to remove.
   */
  async delete(prop: Property): Promise<void> {
    checkProperty(prop);
    await this.#send(["HDEL", this.key, fieldOf(prop)]);
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
    await this.#send(["DEL", this.key]);
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
 * @typeParam Integers The `unsafeIntegers` option; the factory carries it,
 *   so that subjects over a `"bigint"` factory may declare `bigint` values.
 * @param options The key prefix, compare-and-set limit and durability
 * (`waitReplicas`, `waitTimeoutMs`).
 * @returns A factory of {@linkcode SubjectsRedisStorage}.
 *
 * @example
 * ```ts
 * import { createRedisClient, createRedisStorage, KRules } from "@x/redis-subjects";
 *
 * await using client = await createRedisClient("redis://localhost:6379/0");
 * const krules = new KRules({ storage: createRedisStorage(client, { keyPrefix: "app:" }) });
 * const user = krules.subject("user-123");
 * await user.set("name", "John");
 * await user.store();
 * ```
 */
export function createRedisStorage<
  Integers extends UnsafeIntegers = "reject",
>(
  client: RedisSender | SupportedClient,
  options?: RedisStorageOptions & { unsafeIntegers?: Integers },
): StorageFactory & { readonly unsafeIntegers: Integers } {
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
  const combiner = new CasCombiner(writer, checked.unsafeIntegers);
  const factory = (name: string, _context?: StorageContext): SubjectStorage => {
    return new SubjectsRedisStorage(name, writer, checked, combiner);
  };
  return Object.assign(factory, {
    subjectNames: (options?: SubjectNamesOptions): AsyncIterable<string> =>
      scanSubjectNames(sender, checked.keyPrefix, options),
    unsafeIntegers: checked.unsafeIntegers as Integers,
  });
}

/**
 * With `waitReplicas`, `WAIT` follows every attempt of a conditioned store,
 * and may fail for one whose condition failed. That attempt wrote nothing,
 * whatever `WAIT` says: its reply is the one to act on.
 */
function wroteNothing(error: unknown): RedisReply {
  if (error instanceof ReplicationError && Array.isArray(error.reply)) {
    return error.reply;
  }
  throw error;
}

function hashEntries(reply: RedisReply): string[] {
  if (!Array.isArray(reply) || reply.length % 2 !== 0) {
    throw new RedisUnexpectedReplyError("HGETALL", reply);
  }
  return reply.map((item) => expectString(item, "HGETALL"));
}

function expectString(reply: RedisReply, command: string): string {
  if (typeof reply !== "string") {
    throw new RedisUnexpectedReplyError(command, reply);
  }
  return reply;
}

/** What a store's promise resolves to, whatever the server replied. */
function nothing(): void {}

/** Whether a store has nothing to delete and no conditions: one HSET. */
function setsOnly(changes: StoreChanges): boolean {
  const { deletes, conditions } = changes;
  return (deletes === undefined ||
    (Array.isArray(deletes) && deletes.length === 0)) &&
    (conditions === undefined ||
      (Array.isArray(conditions) && conditions.length === 0));
}
