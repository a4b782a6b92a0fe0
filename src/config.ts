import { parseRedisUrl } from "./client/url.ts";

/** Where to find Redis and how to name keys, as read by {@linkcode loadRedisConfig}. */
export interface RedisConfig {
  /** The Redis URL, e.g. `redis://localhost:6379/0`. */
  url: string;
  /** The key prefix, e.g. `app:`, for `createRedisStorage`'s `keyPrefix`. */
  keyPrefix: string;
}

/** A source of environment variables; `Deno.env` is one. */
export interface EnvSource {
  /**
   * Reads one variable.
   *
   * @param name The variable name.
   * @returns Its value, or `undefined` when it is not set.
   */
  get(name: string): string | undefined;
}

/** The URL used when `REDIS_URL` is not set. */
const DEFAULT_REDIS_URL = "redis://localhost:6379/0";
/** The key prefix used when `REDIS_KEY_PREFIX` is not set. */
const DEFAULT_KEY_PREFIX = "app:";

/**
 * Reads the Redis settings from the environment, with the same variables and
 * defaults as the Python package: `REDIS_URL` (default
 * `redis://localhost:6379/0`; an empty value counts as unset) and
 * `REDIS_KEY_PREFIX` (default `app:`; an empty value means no prefix). The
 * URL is checked now, so a typo fails at start-up rather than at first use.
 *
 * @param env Where to read the variables; `Deno.env` when omitted.
 * @returns The URL and the key prefix.
 * @throws {TypeError} When `REDIS_URL` is not a valid `redis://` or `rediss://` URL.
 *
 * @example
 * ```ts
 * import { loadRedisConfig } from "@x/redis-subjects";
 *
 * const config = loadRedisConfig(new Map([["REDIS_KEY_PREFIX", "myapp:"]]));
 * console.log(config); // { url: "redis://localhost:6379/0", keyPrefix: "myapp:" }
 * ```
 */
export function loadRedisConfig(env?: EnvSource): RedisConfig {
  env ??= Deno.env;
  const rawUrl = env.get("REDIS_URL");
  const url = rawUrl === undefined || rawUrl === ""
    ? DEFAULT_REDIS_URL
    : rawUrl;
  try {
    parseRedisUrl(url);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new TypeError(`REDIS_URL is invalid: ${error.message}`, {
      cause: error,
    });
  }
  return { url, keyPrefix: env.get("REDIS_KEY_PREFIX") ?? DEFAULT_KEY_PREFIX };
}
