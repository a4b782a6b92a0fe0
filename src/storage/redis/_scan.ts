/**
 * Listing subject names with `SCAN`, which walks the keyspace a page at a
 * time and never blocks the server the way `KEYS` does. On a cluster every
 * master holds part of the keyspace, so each is scanned in turn; they are
 * reached through the one client by routing a script to a key each of them
 * owns, which works with every client that routes by key. Those keys are
 * named under the storage's prefix, so a user whose ACL allows only the
 * prefix's keys may list its subjects.
 *
 * @module
 */
import { RedisUnexpectedReplyError } from "../../client/errors.ts";
import type { RedisReply, RedisSender } from "../../client/types.ts";
import { escapeGlob } from "../_glob.ts";
import { runScript, SCAN_SCRIPT } from "./scripts.ts";
import type { SubjectNamesOptions } from "../types.ts";

/** How many keys each `SCAN` call looks at: a page, not a promise. */
const PAGE = 1000;
/** Hash-tag keys probed per round when looking for a key on each master. */
const PROBES = 64;

/**
 * Yields the name of every subject under `keyPrefix` whose name matches
 * `options.match`, each once.
 *
 * @param client Where the subjects live: one server or a cluster.
 * @param keyPrefix The storage's key prefix; its glob characters are escaped.
 * @param options The pattern names must match.
 */
export async function* scanSubjectNames(
  client: RedisSender,
  keyPrefix: string,
  options?: SubjectNamesOptions,
): AsyncGenerator<string> {
  const match = options?.match ?? "*";
  if (typeof match !== "string" || !match.isWellFormed()) {
    throw new TypeError(
      'match must be a string of well-formed Unicode, e.g. "user-*".',
    );
  }
  const head = `s:${keyPrefix}`;
  const pattern = escapeGlob(head) + match;
  const seen = new Set<string>();
  const routes = await masterRoutes(client, head);
  for (const route of routes ?? [undefined]) {
    let cursor = "0";
    do {
      const reply = route === undefined
        ? await client.send([
          "SCAN",
          cursor,
          "MATCH",
          pattern,
          "COUNT",
          PAGE,
          "TYPE",
          "hash",
        ])
        : await runScript(client, SCAN_SCRIPT, route, [cursor, pattern, PAGE]);
      const [next, keys] = scanPage(reply);
      cursor = next;
      for (const key of keys) {
        // SCAN may return a key twice; a name is yielded once.
        if (!key.startsWith(head) || seen.has(key)) continue;
        seen.add(key);
        yield key.slice(head.length);
      }
    } while (cursor !== "0");
  }
}

/**
 * Clients whose server refused `CLUSTER SLOTS` as not a cluster. Whether a
 * server runs in cluster mode is fixed when it starts, so one refusal per
 * client is enough: asking on every call cost a round trip and left an error
 * span in every trace that lists subjects. A cluster is still asked on every
 * call, for its masters of the moment.
 */
const standalone = new WeakSet<RedisSender>();

/**
 * One key under `head` per cluster master that may hold keys under it, each
 * in a slot that master serves, or `undefined` when the server is not a
 * cluster.
 */
async function masterRoutes(
  client: RedisSender,
  head: string,
): Promise<string[] | undefined> {
  if (standalone.has(client)) return undefined;
  let reply: RedisReply;
  try {
    reply = await client.send(["CLUSTER", "SLOTS"]);
  } catch (error) {
    if (
      error instanceof Error && /cluster support disabled/i.test(error.message)
    ) {
      standalone.add(client);
      return undefined;
    }
    throw error;
  }
  // [start, end, [host, port, …], replicas…] per range.
  const owners: { start: number; end: number; master: string }[] = [];
  for (const range of Array.isArray(reply) ? reply : []) {
    if (!Array.isArray(range) || !Array.isArray(range[2])) continue;
    const [start, end, [host, port]] = range;
    if (typeof start !== "number" || typeof end !== "number") continue;
    owners.push({ start, end, master: `${host}:${port}` });
  }
  const masters = new Set(owners.map((o) => o.master));
  if (masters.size === 0) {
    throw new RedisUnexpectedReplyError("CLUSTER SLOTS", reply);
  }
  const routes = new Map<string, string>();
  for (let round = 0; routes.size < masters.size; round++) {
    if (round === 16) {
      throw new Error(
        "Could not find a key on every cluster master to scan it; the slot map may be changing. Retry.",
      );
    }
    const tags = Array.from(
      { length: PROBES },
      (_, i) => `${head}{${round * PROBES + i}}`,
    );
    const slots = await Promise.all(
      tags.map((tag) => client.send(["CLUSTER", "KEYSLOT", tag])),
    );
    // A hash tag in the prefix (`{app}:`) puts every key under it in one
    // slot: its master is the only one to scan.
    if (round === 0 && new Set(slots).size === 1) return [tags[0]];
    slots.forEach((slot, i) => {
      const owner = owners.find((o) =>
        typeof slot === "number" && o.start <= slot && slot <= o.end
      );
      if (owner !== undefined && !routes.has(owner.master)) {
        routes.set(owner.master, tags[i]);
      }
    });
  }
  return [...routes.values()];
}

function scanPage(reply: RedisReply): [cursor: string, keys: string[]] {
  if (
    Array.isArray(reply) && reply.length === 2 &&
    typeof reply[0] === "string" && Array.isArray(reply[1]) &&
    reply[1].every((key) => typeof key === "string")
  ) {
    return [reply[0], reply[1] as string[]];
  }
  throw new RedisUnexpectedReplyError("SCAN", reply);
}
