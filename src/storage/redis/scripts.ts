/**
 * The Lua scripts behind the Redis storage's atomic operations. Redis runs a
 * script without interleaving any other command, so each one is an atomic
 * step that needs no WATCH, no MULTI/EXEC and no dedicated connection. Every
 * script touches exactly one key, `KEYS[1]`, so every operation also works on
 * Redis Cluster.
 *
 * @module
 */
import { RedisReplyError } from "../../client/errors.ts";
import type { RedisArg, RedisReply, RedisSender } from "../../client/types.ts";

/** A Lua script with the SHA1 Redis knows it by, computed once on first use. */
export class LuaScript {
  /** The Lua source, exactly as sent with `EVAL`. */
  readonly source: string;
  /**
   * Clients this script has run on. The first run on a client sends `EVAL`,
   * which also caches the script in the server: a fresh server would answer
   * `EVALSHA` with `NOSCRIPT` and cost a second round trip.
   */
  readonly ranOn: WeakSet<RedisSender> = new WeakSet();
  #sha: string | undefined;
  #shaPromise: Promise<string> | undefined;

  /**
   * Wraps a Lua source.
   *
   * @param source The script; it must use only `KEYS[1]`.
   */
  constructor(source: string) {
    this.source = source;
  }

  /**
   * The hex SHA1 of the source, as `EVALSHA` expects.
   *
   * @returns The digest; later calls return the cached one.
   */
  sha(): string | Promise<string> {
    if (this.#sha !== undefined) return this.#sha;
    this.#shaPromise ??= crypto.subtle.digest(
      "SHA-1",
      new TextEncoder().encode(this.source),
    ).then((digest) => {
      this.#sha = Array.from(
        new Uint8Array(digest),
        (byte) => byte.toString(16).padStart(2, "0"),
      ).join("");
      return this.#sha;
    });
    return this.#shaPromise;
  }
}

/**
 * How a script's error ends when a write failed after an earlier write of
 * the same script was applied. Redis does not roll a script back, so such a
 * script is partly applied: {@linkcode runScript} reports it with
 * `executed: "maybe"`, never `"no"`, so that nothing re-sends it. No reply
 * Redis words itself contains this text.
 */
export const AFTER_WRITE = " (after this script had written: that stays)";

/**
 * Lua helpers every script that may write more than once starts with.
 *
 * Redis keeps what a script wrote before a command of it failed, so a
 * script must never fail after its first write. On Redis 7.0 every way a
 * write can be refused strikes before the first one, once the scripts check
 * the ACL up front: `OOM` is only raised while a script has not written yet
 * (checked with `maxmemory 1` in the tests); `READONLY`, `MISCONF`, a stale
 * replica and a cluster that is down refuse every write alike, so the first
 * one; every command touches the one key, so `WRONGTYPE` strikes the first
 * command; and the script's key is checked against the user's key patterns
 * before it starts. No other client's command (`ACL SETUSER` included) runs
 * while a script does. What is left is per command: a user may be allowed
 * `HSET` but not `HDEL`.
 *
 * - `may(command, key, args...)` refuses with `NOPERM`, before anything is
 *   written, a write the user's ACL refuses. `redis.acl_check_cmd` (Redis
 *   7.0+) needs no permission of its own. ACL rules look at the command, its
 *   key and at most its first argument (the key, for these commands), so one
 *   check with the key and a real field answers for every call of that
 *   command in the script. Before 7.0 there is no such check; `write()`
 *   still makes the error say the script may have written.
 * - `write(command, key, args...)` runs a write: the first one with
 *   `redis.call`, whose error leaves nothing written; later ones with
 *   `redis.pcall`, raising their error with {@linkcode AFTER_WRITE} appended
 *   so the client reports the script as maybe executed.
 */
export const SCRIPT_WRITES = `
local function may(command, ...)
  if redis.acl_check_cmd and not redis.acl_check_cmd(command, ...) then
    error({ err = 'NOPERM this user may not run ' .. command ..
      ' on this key, so the script wrote nothing' })
  end
end
local wrote = false
local function write(...)
  if not wrote then
    local reply = redis.call(...)
    wrote = true
    return reply
  end
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then
    error({ err = reply.err .. '${AFTER_WRITE}' })
  end
  return reply
end
`;

/**
 * Sets and deletes any number of fields of one hash as one atomic step, so a
 * concurrent reader sees either none or all of a `store()`; with conditions,
 * only if every conditioned field still holds the text its new value was
 * computed from, so a cached read-modify-write never overwrites a write it
 * did not see.
 *
 * `ARGV[1]` is the number N of field/value pairs, `ARGV[2]` the number C of
 * conditions. The 2N pair arguments follow, then C triples: the field, `"1"`
 * if a value was read or `"0"` if the field was absent, and the text read
 * (ignored when absent). Every remaining argument is a field to delete. Sets
 * run before deletes, as in the Python storage's pipeline.
 *
 * With both sets and deletes, it checks that the user may run `HSET` and
 * `HDEL` before writing either (see {@linkcode SCRIPT_WRITES}).
 *
 * Returns 1 when it wrote. When a condition fails it writes nothing and
 * returns one reply per condition: 1 when it held, otherwise a one-element
 * array holding the field's current value (nil when absent), so the caller
 * can compute again without a read.
 */
export const STORE_SCRIPT: LuaScript = new LuaScript(`${SCRIPT_WRITES}
local key = KEYS[1]
local last_pair = 2 + 2 * tonumber(ARGV[1])
local last_check = last_pair + 3 * tonumber(ARGV[2])
if last_pair > 2 and #ARGV > last_check then
  may('HSET', key, ARGV[3], ARGV[4])
  may('HDEL', key, ARGV[last_check + 1])
end
local replies, conflict = {}, false
for i = last_pair + 1, last_check, 3 do
  local current = redis.call('HGET', key, ARGV[i])
  local same
  if ARGV[i + 1] == '0' then
    same = current == false
  else
    same = current == ARGV[i + 2]
  end
  if same then
    replies[#replies + 1] = 1
  else
    replies[#replies + 1] = { current }
    conflict = true
  end
end
if conflict then return replies end
-- One HSET/HDEL per chunk rather than per field: a redis.call is the costly
-- part of a script. Chunks stay well under Lua's limit on unpacked values.
local chunk = 7000
for first = 3, last_pair, chunk do
  write('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, last_pair)))
end
for first = last_check + 1, #ARGV, chunk do
  write('HDEL', key, unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end
return 1
`);

/**
 * A Lua function telling whether a string is valid UTF-8, for scripts that
 * return old values: the client's decoding would silently replace bad bytes,
 * and the field is gone by the time anyone could check. Text without bytes
 * above 127 is ASCII and costs one scan.
 */
const UTF8_OK = `
local function utf8_ok(s)
  local i = string.find(s, '[\\128-\\255]')
  while i do
    local c = string.byte(s, i)
    local n, lo, hi = 0, 128, 191
    if c >= 194 and c <= 223 then n = 1
    elseif c == 224 then n, lo = 2, 160
    elseif c >= 225 and c <= 239 and c ~= 237 then n = 2
    elseif c == 237 then n, hi = 2, 159
    elseif c == 240 then n, lo = 3, 144
    elseif c >= 241 and c <= 243 then n = 3
    elseif c == 244 then n, hi = 3, 143
    else return false end
    for j = 1, n do
      local b = string.byte(s, i + j)
      if b == nil then return false end
      if j == 1 then
        if b < lo or b > hi then return false end
      elseif b < 128 or b > 191 then return false end
    end
    i = string.find(s, '[\\128-\\255]', i + n + 1)
  end
  return true
end
`;

/**
 * Writes one field and returns the value it held just before (nil when it
 * was absent), read in the same atomic step: no write can land in between,
 * so the returned old value is exactly the one this write replaced.
 *
 * `ARGV[1]` is the field, `ARGV[2]` the new value. An old value that is not
 * valid UTF-8 comes back wrapped in a one-element array.
 */
export const SET_SCRIPT: LuaScript = new LuaScript(`
${UTF8_OK}
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if old and not utf8_ok(old) then return { old } end
return old
`);

/**
 * Writes several fields and returns the values they held just before, in one
 * atomic step, as {@linkcode SET_SCRIPT} does for one.
 *
 * `ARGV` holds field/value pairs. Returns one reply per pair: the old value,
 * nil when absent, or a one-element array holding an old value that is not
 * valid UTF-8.
 */
export const SET_MANY_SCRIPT: LuaScript = new LuaScript(`
${UTF8_OK}
${SCRIPT_WRITES}
local key = KEYS[1]
local olds = {}
for i = 1, #ARGV, 2 do
  local old = redis.call('HGET', key, ARGV[i])
  if old and not utf8_ok(old) then old = { old } end
  olds[#olds + 1] = old
end
local chunk = 7000
-- Only HSET on the one key: the first chunk is refused if any would be.
for first = 1, #ARGV, chunk do
  write('HSET', key, unpack(ARGV, first, math.min(first + chunk - 1, #ARGV)))
end
return olds
`);

/**
 * Sets or clears the expiry of a key that exists, in one step: a key that
 * does not exist is left alone, so the reply says whether there was one.
 *
 * `ARGV[1]` is the expiry in milliseconds, or empty to clear it. Returns 1
 * when the key exists, 0 otherwise.
 */
export const EXPIRE_SCRIPT: LuaScript = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
`);

/**
 * One page of `SCAN` over the hashes of the node that owns `KEYS[1]`'s
 * slot: how a cluster's masters are reached one by one through any client
 * that routes by key. `KEYS[1]` is only a route; nothing reads it.
 *
 * `ARGV[1]` is the cursor, `ARGV[2]` the pattern, `ARGV[3]` the count.
 */
export const SCAN_SCRIPT: LuaScript = new LuaScript(`
return redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3], 'TYPE', 'hash')
`);

/**
 * Tells whether fields still hold exactly the bytes of the text a read
 * decoded. The client decodes bytes that are not UTF-8 to U+FFFD, so a text
 * holding U+FFFD is either that character, stored, or a corrupt field: the
 * server's bytes tell which.
 *
 * `ARGV` holds field/text pairs. Returns one reply per pair: 1 when the field
 * holds exactly the text, otherwise a one-element array holding the field's
 * current value (nil when absent).
 */
export const SAME_SCRIPT: LuaScript = new LuaScript(`
local replies = {}
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if current == ARGV[i + 1] then
    replies[#replies + 1] = 1
  else
    replies[#replies + 1] = { current }
  end
end
return replies
`);

/**
 * Compare-and-set of one field: writes the new value only if the field still
 * holds exactly the bytes the caller read (or is still absent, if it was),
 * so a read-modify-write never overwrites a write it did not see.
 *
 * `ARGV[1]` is the field, `ARGV[2]` is `"1"` if the caller read a value and
 * `"0"` if the field was absent, `ARGV[3]` the value read (ignored when
 * absent), `ARGV[4]` the new value. Returns 1 when written; otherwise a
 * one-element array holding the field's current value (nil when absent), so
 * the caller can retry without reading again.
 */
export const CAS_SCRIPT: LuaScript = new LuaScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
local unchanged
if ARGV[2] == '0' then
  unchanged = current == false
else
  unchanged = current == ARGV[3]
end
if unchanged then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
  return 1
end
return { current }
`);

/**
 * Runs a script on one key: with `EVAL` the first time on a client, then
 * with `EVALSHA`, falling back to `EVAL` when the server does not have it
 * cached (`NOSCRIPT`), e.g. after a restart or a `SCRIPT FLUSH`. `EVAL` caches
 * it again, so the fallback costs one extra round trip once per server.
 *
 * @param client Where to send the commands.
 * @param script The script to run.
 * @param key The one key the script touches, passed as `KEYS[1]`.
 * @param args The script's `ARGV`.
 * @returns The script's reply.
 * @throws {RedisReplyError} The script's error: `executed: "no"`, as for any
 *   error reply, except one the script raised after it had written
 *   ({@linkcode AFTER_WRITE}), which is `"maybe"`.
 */
export function runScript(
  client: RedisSender,
  script: LuaScript,
  key: string,
  args: readonly RedisArg[],
): Promise<RedisReply> {
  // Promise chains rather than async/await: this is on every script call's
  // path, and each await is a turn of the microtask queue.
  const known = script.sha();
  if (typeof known !== "string" || !script.ranOn.has(client)) {
    // The command goes out now, in the caller's tick, keeping its place among
    // the caller's other commands; the digest is ready by the next run.
    return client.send(["EVAL", script.source, 1, key, ...args]).then(
      (reply) => {
        script.ranOn.add(client);
        return reply;
      },
      partlyWritten,
    );
  }
  return client.send(["EVALSHA", known, 1, key, ...args]).catch((error) => {
    if (!(error instanceof RedisReplyError) || error.code !== "NOSCRIPT") {
      return partlyWritten(error);
    }
    return client.send(["EVAL", script.source, 1, key, ...args]).catch(
      partlyWritten,
    );
  });
}

/**
 * Rethrows a script's error; one raised after the script had written (see
 * {@linkcode AFTER_WRITE}) as `executed: "maybe"`, since part of it stays.
 */
function partlyWritten(error: unknown): never {
  if (
    error instanceof RedisReplyError && error.executed === "no" &&
    error.reply.includes(AFTER_WRITE)
  ) {
    throw new RedisReplyError(error.reply, {
      command: error.command,
      executed: "maybe",
      cause: error,
    });
  }
  throw error;
}
