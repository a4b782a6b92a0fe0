/**
 * Contention rows of `deno task bench`: 64 workers incrementing one property
 * with function `set()`s, against node-redis workers doing the Python
 * original's `WATCH`/`MULTI`/`EXEC` loop on 64 connections.
 *
 * Two forms of ours: 64 increments in flight on one connection, where the
 * in-process combiner shares one read and one compare-and-set among them;
 * and the fair one, 64 connections each with one increment in flight, where
 * every increment contends through the Lua compare-and-set as the baseline's
 * do through `WATCH`.
 *
 * @module
 */

import { createClient } from "redis";
import {
  ConflictError,
  createRedisClient,
  createRedisStorage,
  KRules,
  type RedisClient,
} from "../mod.ts";
import type { RedisArg, RedisReply, RedisSender } from "../client.ts";
import { alternate, median, pool, type Row } from "./_table.ts";

/** A node-redis 6 client as `createClient({ url })` makes it (RESP3). */
export type NodeRedis = ReturnType<typeof newNodeRedis>;

function newNodeRedis(url: string) {
  return createClient({ url });
}

const WORKERS = 64;

interface CasTally {
  writes: number;
  conflicts: number;
  /** Round trip of every compare-and-set, in milliseconds. */
  times: number[];
}

/** A sender that counts compare-and-set outcomes by inspecting script replies. */
function casCounter(client: RedisSender, tally: CasTally): RedisSender {
  return {
    async send(args: readonly RedisArg[]): Promise<RedisReply> {
      const started = performance.now();
      const reply = await client.send(args);
      if (String(args[0]).startsWith("EVAL")) {
        tally.times.push(performance.now() - started);
        if (reply === 1) tally.writes++;
        else tally.conflicts++;
      }
      return reply;
    },
  };
}

/**
 * The WATCH/MULTI/EXEC increment loop of the Python original, on node-redis:
 * returns how many times it had to retry.
 */
export async function watchIncrement(
  redis: NodeRedis,
  key: string,
): Promise<number> {
  let retries = 0;
  while (true) {
    await redis.watch(key);
    const raw = await redis.hGet(key, "pcount");
    const next = (raw === null || raw === undefined ? 0 : JSON.parse(raw)) + 1;
    try {
      const result = await redis.multi().hSet(
        key,
        "pcount",
        JSON.stringify(next),
      ).exec();
      if (result !== null) return retries;
    } catch (error) {
      // node-redis rejects an aborted EXEC with a WatchError.
      if (error?.constructor?.name !== "WatchError") throw error;
    }
    retries++;
  }
}

const increment = (n: unknown) => (typeof n === "number" ? n : 0) + 1;

/** Options of {@linkcode benchContention}. */
export interface ContentionOptions {
  /** Where both sides connect (the server, or a latency proxy in front of it). */
  url: string;
  /** Prefix of the row's label, e.g. `contention` or `contention at 0.5 ms`. */
  label: string;
  /** Increments per run for ours on one connection. */
  combinedTotal: number;
  /** Increments per run for the 64-connection forms (ours and the baseline). */
  connectionsTotal: number;
  /** Runs per form. */
  runs: number;
  /** Also measure the fair form (ours on 64 connections). */
  fair: boolean;
  /** The target ratio of every row. */
  target: number;
}

/**
 * Measures the contention forms against the same 64 `WATCH` connections and
 * returns one row per form of ours.
 */
export async function benchContention(
  options: ContentionOptions,
): Promise<Row[]> {
  const { url, runs } = options;
  let run = 0;
  const prefix = () => `bench:cas${run++}:`;
  const nodeClients: NodeRedis[] = [];
  const ourClients: RedisClient[] = [];
  try {
    for (let w = 0; w < WORKERS; w++) {
      const c = newNodeRedis(url);
      await c.connect();
      nodeClients.push(c);
      if (options.fair) ourClients.push(await createRedisClient(url));
    }
    await using shared = await createRedisClient(url);
    let exact = true;
    const combined: CasTally = { writes: 0, conflicts: 0, times: [] };
    const fair: CasTally = { writes: 0, conflicts: 0, times: [] };
    let theirRetries = 0;
    let gaveUp = 0;
    let theirCount = 0;

    const oursCombined = async (): Promise<number> => {
      const krules = new KRules({
        storage: createRedisStorage(casCounter(shared, combined), {
          keyPrefix: prefix(),
        }),
      });
      const rate = await pool(
        options.combinedTotal,
        WORKERS,
        () =>
          krules.subject("hot").set("count", increment, { useCache: false }),
      );
      exact &&= await krules.subject("hot").get("count") ===
        options.combinedTotal;
      return rate;
    };

    const oursFair = async (): Promise<number> => {
      const keyPrefix = prefix();
      const subjects = ourClients.map((c) =>
        new KRules({
          storage: createRedisStorage(casCounter(c, fair), { keyPrefix }),
        })
      );
      let next = 0;
      const started = performance.now();
      await Promise.all(subjects.map(async (krules) => {
        while (next < options.connectionsTotal) {
          next++;
          // An increment that runs out of compare-and-set attempts is counted
          // and tried again, so the final count still proves none was lost.
          while (true) {
            try {
              await krules.subject("hot").set("count", increment, {
                useCache: false,
              });
              break;
            } catch (error) {
              if (!(error instanceof ConflictError)) throw error;
              gaveUp++;
            }
          }
        }
      }));
      const rate = options.connectionsTotal /
        ((performance.now() - started) / 1000);
      exact &&= await subjects[0].subject("hot").get("count") ===
        options.connectionsTotal;
      return rate;
    };

    const theirs = async (): Promise<number> => {
      const key = `s:${prefix()}hot`;
      let next = 0;
      const started = performance.now();
      await Promise.all(nodeClients.map(async (c) => {
        while (next < options.connectionsTotal) {
          next++;
          theirRetries += await watchIncrement(c, key);
          theirCount++;
        }
      }));
      const rate = options.connectionsTotal /
        ((performance.now() - started) / 1000);
      exact &&= JSON.parse(String(await nodeClients[0].hGet(key, "pcount"))) ===
        options.connectionsTotal;
      return rate;
    };

    const contenders: Record<string, () => Promise<number>> = {
      oursCombined,
      theirs,
    };
    if (options.fair) contenders.oursFair = oursFair;
    const results = await alternate(runs, contenders);
    const theirNote = `baseline ${
      (theirRetries / theirCount).toFixed(1)
    } retries per increment; final counts exact: ${exact}`;
    const row = (
      form: string,
      rates: number[],
      tally: CasTally,
      total: number,
    ): Row => ({
      scenario: `${options.label}: ${form} (increments/s)`,
      ours: median(rates),
      baselines: {
        "node-redis WATCH loop, 64 connections": median(results.theirs),
      },
      target: options.target,
      note: `ours ${
        ((tally.writes + tally.conflicts) / total).toFixed(3)
      } CAS calls and ${
        (tally.conflicts / total).toFixed(3)
      } conflicts per increment, a compare-and-set taking ${
        tally.times.length === 0 ? "-" : median(tally.times).toFixed(2)
      } ms (median); ${theirNote}`,
    });
    const rows = [
      row(
        "64 increments in flight on 1 connection, in-process combining",
        results.oursCombined,
        combined,
        options.combinedTotal * runs,
      ),
    ];
    if (options.fair) {
      const fairRow = row(
        "64 connections, 1 increment in flight each",
        results.oursFair,
        fair,
        options.connectionsTotal * runs,
      );
      fairRow.note +=
        `; ${gaveUp} increments ran out of compare-and-set attempts (ConflictError) and were retried`;
      rows.push(fairRow);
    }
    return rows;
  } finally {
    await Promise.all(nodeClients.map((c) => c.quit()));
    await Promise.all(ourClients.map((c) => c.close()));
  }
}
