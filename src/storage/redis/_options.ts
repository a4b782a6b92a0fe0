/**
 * The options of the Redis storage and their checks, and the check that a
 * client was given (not a promise of one): all run before anything is sent.
 *
 * @module
 */

import { promiseGiven } from "../../client/adapters/mod.ts";
import type { RedisSender } from "../../client/types.ts";
import type { UnsafeIntegers } from "../../json/codec.ts";

/** The default of {@linkcode RedisStorageOptions.maxCasAttempts}. */
const DEFAULT_MAX_CAS_ATTEMPTS = 100;
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
   * How many compare-and-set attempts a `set()` with a function value (and a
   * `store()` of cached function sets) makes before it gives up with
   * `ConflictError`. The first conflict is retried at once on the value the
   * script returned; every second conflict in a row waits a random delay of
   * up to 8 ms, doubling to 64 ms. The default rides out about a second and a
   * half of continuous conflicts.
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
  /**
   * What to do with integers beyond ±(2^53 − 1), which Python writes for
   * its big `int`s: `"reject"` refuses to read one a number would round
   * (`CorruptValueError`, reason `"unsafe-integer"`) and refuses to store a
   * `BigInt`; `"bigint"` reads them exactly as `BigInt` and writes `BigInt`
   * values as JSON integers. See {@linkcode UnsafeIntegers}.
   *
   * @default {"reject"}
   */
  unsafeIntegers?: UnsafeIntegers;
}

/**
 * Checks that `client` can send commands.
 *
 * @param client What was given as the client.
 * @throws {TypeError} when it is a promise (a missing `await`) or has no `send()`.
 */
export function checkCommands(client: RedisSender): void {
  const notAwaited = promiseGiven(client);
  if (notAwaited !== undefined) throw notAwaited;
  if (
    typeof client !== "object" || client === null ||
    typeof client.send !== "function"
  ) {
    throw new TypeError(
      "The Redis storage needs a client with a send(args) method, such as the one createRedisClient() returns.",
    );
  }
}

/**
 * Checks every option and fills in the defaults.
 *
 * @param options The options as given.
 * @returns The options the storage runs with.
 * @throws {TypeError} when the key prefix is not a string of well-formed
 * Unicode, or `unsafeIntegers` is neither `"reject"` nor `"bigint"`.
 * @throws {RangeError} when a number is out of range.
 */
export function checkOptions(
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
  const unsafeIntegers = options.unsafeIntegers ?? "reject";
  if (unsafeIntegers !== "reject" && unsafeIntegers !== "bigint") {
    throw new TypeError(
      `unsafeIntegers must be "reject" or "bigint", got ${
        JSON.stringify(unsafeIntegers)
      }.`,
    );
  }
  return {
    keyPrefix,
    maxCasAttempts,
    waitReplicas,
    waitTimeoutMs,
    unsafeIntegers,
  };
}
