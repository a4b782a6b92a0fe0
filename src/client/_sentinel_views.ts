/**
 * What the Sentinels say of a master, and which address to trust when they
 * disagree: asking one Sentinel, waiting for a majority, and ordering the
 * candidates by configuration epoch.
 *
 * @module
 */

import { RedisConnectionError, RedisReplyError } from "./errors.ts";
import type { RedisReply, RedisSender } from "./types.ts";

/** What one Sentinel says of the master. */
export interface SentinelView {
  /** `host:port` of the master this Sentinel advertises now. */
  readonly address: string;
  /** Its `config-epoch`: the failover its configuration comes from. */
  readonly epoch: number;
  /** Whether it is failing the master over and has not promoted a replica yet. */
  readonly promoting: boolean;
  /** Its `failover-timeout`, in milliseconds; 0 when not told. */
  readonly failoverTimeoutMs: number;
}

/**
 * One Sentinel's view of the master: both commands leave in one write.
 * `GET-MASTER-ADDR-BY-NAME` gives the promoted replica's address as soon
 * as the failover's leader has its new configuration, where
 * `SENTINEL MASTER` still names the old master until the failover ends.
 *
 * @param client A connection to the Sentinel.
 * @param masterName The name it monitors the master by.
 * @returns Its view; `null` when it names no master by that name.
 */
export async function askSentinel(
  client: RedisSender,
  masterName: string,
): Promise<SentinelView | null> {
  const [master, address] = await Promise.all([
    client.send(["SENTINEL", "MASTER", masterName]),
    client.send(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName]),
  ]);
  const fields = replyRecord(master);
  if (!Array.isArray(address) || address.length < 2) return null;
  const named = `${address[0]}:${address[1]}`;
  const flags = (fields.flags ?? "").split(",");
  return {
    address: named,
    epoch: Number(fields["config-epoch"] ?? 0) || 0,
    // Failing over, still naming the master being replaced: the promotion
    // is not confirmed yet.
    promoting: flags.includes("failover_in_progress") &&
      named === `${fields.ip}:${fields.port}`,
    failoverTimeoutMs: Number(fields["failover-timeout"] ?? 0) || 0,
  };
}

/** The master the last `+switch-master` replaced, and the newest epoch seen then. */
export interface Replaced {
  /** Its `host:port`. */
  readonly address: string;
  /** The newest configuration epoch a Sentinel had named when it arrived. */
  readonly epoch: number;
}

/**
 * The addresses to try as master, best first: the one the last
 * `+switch-master` announced (the asked Sentinels may not have caught up),
 * then those the Sentinels with the newest configuration epoch name, most
 * named first. Epochs only grow, so a Sentinel with an older one has not
 * heard of the latest failover: what it names is not a candidate. Nor is
 * the master that announcement replaced, while no Sentinel names it at a
 * newer epoch than was known then: it answers `ROLE` as a master until it
 * is demoted, and the demotion discards what it took meanwhile.
 *
 * @param views What each Sentinel that answered says.
 * @param announced The address of the last `+switch-master`, if any.
 * @param replaced The master it replaced, if any.
 * @returns The candidates, without repeats.
 */
export function candidates(
  views: readonly SentinelView[],
  announced: string | undefined,
  replaced?: Replaced,
): string[] {
  const newest = Math.max(...views.map((view) => view.epoch));
  const votes = new Map<string, number>();
  for (const view of views) {
    if (view.epoch !== newest) continue;
    if (view.address === replaced?.address && newest <= replaced.epoch) {
      continue;
    }
    votes.set(view.address, (votes.get(view.address) ?? 0) + 1);
  }
  const addresses = [...votes.keys()].sort((a, b) =>
    votes.get(b)! - votes.get(a)!
  );
  if (announced === undefined) return addresses;
  return [announced, ...addresses.filter((a) => a !== announced)];
}

/**
 * Settles like `Promise.allSettled`, but no later than `graceMs` after a
 * majority of `promises` settled; those still pending then are `undefined`.
 */
export function settleMost<T>(
  promises: Promise<T>[],
  graceMs: number,
): Promise<(PromiseSettledResult<T> | undefined)[]> {
  const results: (PromiseSettledResult<T> | undefined)[] = promises.map(() =>
    undefined
  );
  const majority = Math.floor(promises.length / 2) + 1;
  return new Promise((resolve) => {
    let settled = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(timer);
      resolve(results.slice());
    };
    promises.forEach((promise, i) => {
      promise.then(
        (value) => results[i] = { status: "fulfilled", value },
        (reason) => results[i] = { status: "rejected", reason },
      ).then(() => {
        settled++;
        if (settled === promises.length) done();
        else if (settled === majority) timer = setTimeout(done, graceMs);
      });
    });
  });
}

/**
 * A flat `[name, value, …]` reply, as `SENTINEL MASTER` sends, as a record.
 *
 * @param reply The reply.
 * @returns The fields by name; empty when the reply is not an array.
 */
export function replyRecord(reply: RedisReply): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!Array.isArray(reply)) return fields;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    fields[String(reply[i])] = String(reply[i + 1]);
  }
  return fields;
}

/** The answers of the Sentinels to one round of {@linkcode askSentinel}. */
export interface Tally {
  /** The views of those that named a master. */
  readonly views: SentinelView[];
  /** The last refusal (an error reply) of a Sentinel, if any. */
  readonly refusal: unknown;
  /** The last error of a Sentinel, if any. */
  readonly lastError: unknown;
}

/**
 * Sorts the Sentinels' answers: views, refusals, errors; a Sentinel too slow
 * to wait for (`undefined`) counts as none.
 *
 * @param answers What {@linkcode settleMost} gave.
 * @returns The views and the errors.
 */
export function tally(
  answers: readonly (PromiseSettledResult<SentinelView | null> | undefined)[],
): Tally {
  const views: SentinelView[] = [];
  let refusal: unknown;
  let lastError: unknown;
  for (const answer of answers) {
    if (answer === undefined) continue;
    if (answer.status === "rejected") {
      if (answer.reason instanceof RedisReplyError) refusal = answer.reason;
      lastError = answer.reason;
      continue;
    }
    if (answer.value !== null) views.push(answer.value);
  }
  return { views, refusal, lastError };
}

/**
 * The first of `addresses` that answers `ROLE` as a master: the Sentinels
 * may name a server before its promotion is done.
 *
 * @param addresses The candidates, best first.
 * @param probe Opens a client to ask one candidate; it is closed after.
 * @param lastError What to throw when `addresses` is empty; a candidate's
 * own error takes its place.
 * @returns The master's address.
 */
export async function firstMaster(
  addresses: readonly string[],
  probe: (address: string) => RedisSender & {
    readonly url: string;
    close(): Promise<void>;
  },
  lastError: unknown,
): Promise<string> {
  for (const address of addresses) {
    const client = probe(address);
    try {
      const role = await client.send(["ROLE"]);
      if (Array.isArray(role) && role[0] === "master") return address;
      lastError = new RedisConnectionError(
        `${client.url} is not a master (ROLE says ${
          Array.isArray(role) ? role[0] : role
        }); the Sentinels may not have finished a failover.`,
      );
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      lastError = error;
    } finally {
      await client.close();
    }
  }
  throw lastError;
}
