/**
 * Parsing and redaction of `redis://` and `rediss://` URLs.
 *
 * @module
 */

import { secretLike } from "./_scrub.ts";

/** Where and as whom to connect, as read from a Redis URL. */
export interface RedisEndpoint {
  /** `true` for `rediss://`. */
  readonly tls: boolean;
  /** Host name or IP address; IPv6 without brackets. */
  readonly hostname: string;
  /** TCP port. */
  readonly port: number;
  /** ACL user name, or `undefined` for the default user. */
  readonly username: string | undefined;
  /** Password, or `undefined` when the URL has none. */
  readonly password: string | undefined;
  /** Database index selected after connecting. */
  readonly db: number;
  /** The URL with the password replaced by `***`, safe to log. */
  readonly redacted: string;
}

/** The default Redis port. */
const DEFAULT_PORT = 6379;

/**
 * Parses a Redis URL of the form
 * `redis[s]://[[username]:[password]@]host[:port][/db]`.
 *
 * @param input The URL. Credentials may be percent-encoded.
 * @returns The endpoint it names.
 * @throws {TypeError} naming the problem when the URL is not of that form; the
 * message never contains the password.
 */
export function parseRedisUrl(input: string | URL): RedisEndpoint {
  const text = typeof input === "string" ? input : input.href;
  if (typeof text !== "string" || text.trim() === "") {
    throw new TypeError("Redis URL is empty; expected redis://host:port/db.");
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(
      `Redis URL ${
        quote(redactRaw(text))
      } is not a valid URL; expected redis://[[user]:[password]@]host[:port][/db].`,
    );
  }
  // Errors show the text as given, user name and password hidden: in a URL
  // that is wrong, what the parser took for a user name may be the password.
  // Made only for an error: a valid URL need not pay for the redaction's
  // regular expressions, at a cold start.
  const shown = () => quote(redactRaw(text));
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new TypeError(
      `Redis URL ${shown()} has scheme "${url.protocol}"; use redis:// or rediss:// (TLS).`,
    );
  }
  // A URL without "//" has an opaque path instead of a host.
  if (!text.slice(url.protocol.length).startsWith("//")) {
    throw new TypeError(
      `Redis URL ${shown()} lacks "//" after the scheme; expected ${url.protocol}//host.`,
    );
  }
  let hostname = url.hostname;
  if (hostname === "") {
    throw new TypeError(`Redis URL ${shown()} has no host.`);
  }
  if (hostname.startsWith("[") && hostname.endsWith("]")) {
    hostname = hostname.slice(1, -1);
  }
  if (url.search !== "") {
    throw new TypeError(
      `Redis URL ${shown()} has a query string; options go in createRedisClient's options, the db in the path.`,
    );
  }
  if (url.hash !== "") {
    throw new TypeError(`Redis URL ${shown()} has a fragment ("#…").`);
  }
  let port = DEFAULT_PORT;
  if (url.port !== "") {
    port = Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TypeError(
        `Redis URL ${shown()} has port ${url.port}; use 1 to 65535.`,
      );
    }
  }
  let db = 0;
  const path = url.pathname;
  if (path !== "" && path !== "/") {
    const digits = path.slice(1);
    if (!/^\d{1,9}$/.test(digits)) {
      throw new TypeError(
        `Redis URL ${shown()} has ${
          // A path holding "@" may be misplaced credentials: not quoted.
          path.includes("@")
            ? "a path"
            : `path ${
              quote(path)
            }`}; the path can only be a database number such as /0.`,
      );
    }
    db = Number(digits);
  }
  const username = url.username === ""
    ? undefined
    : decodeComponent(url.username, "user name", shown);
  const password = url.password === ""
    ? undefined
    : decodeComponent(url.password, "password", shown);
  if (username !== undefined && password === undefined) {
    throw new TypeError(
      `Redis URL ${shown()} names a user but no password; write redis://user:password@host.`,
    );
  }
  return {
    tls: url.protocol === "rediss:",
    hostname,
    port,
    username,
    password,
    db,
    redacted: redactParsed(url),
  };
}

/**
 * Returns `url` with its password replaced by `***`. Text that does not parse
 * as a URL is redacted as far as its shape allows.
 *
 * @param url Any URL, valid or not.
 * @returns The same URL without the password.
 */
export function redactUrl(url: string | URL): string {
  if (url instanceof URL) return redactParsed(url);
  try {
    return redactParsed(new URL(url));
  } catch {
    return redactRaw(url);
  }
}

/** The URL with its password, and a user name that looks like a secret, replaced by `***`. */
function redactParsed(url: URL): string {
  const hideUser = url.username !== "" && secretLike(url.username);
  if (url.password === "" && !hideUser) return url.href;
  const copy = new URL(url.href);
  if (url.password !== "") copy.password = "***";
  if (hideUser) copy.username = "***";
  return copy.href.replaceAll("%2A%2A%2A", "***");
}

/**
 * For text that is not a valid Redis URL: everything between the scheme and
 * the last "@" is hidden, user name included, since in a malformed URL any of
 * it may be the password. Without an "@", text after the scheme that is not
 * a plain `host[:port][/db]` is hidden too.
 */
function redactRaw(text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:(?:\/\/?)?/i.exec(text)?.[0] ?? "";
  const at = text.lastIndexOf("@");
  if (at !== -1) return scheme + "***" + text.slice(at);
  const rest = text.slice(scheme.length);
  return /^[\w.-]*(?::\d*)?(?:\/\d*)?$/.test(rest) ? text : scheme + "***";
}

function decodeComponent(
  raw: string,
  what: string,
  shown: () => string,
): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new TypeError(
      `Redis URL ${shown()} has a badly percent-encoded ${what}.`,
    );
  }
}

function quote(s: string): string {
  return JSON.stringify(s);
}
