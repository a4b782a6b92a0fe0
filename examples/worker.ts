/**
 * An HTTP service on subjects, written the way Deno Deploy runs code: a
 * default export with a `fetch` handler, so `deno serve` runs it and
 * `deno serve --parallel` runs one isolate per core.
 *
 * Each isolate opens one Redis connection, lazily on its first request, and
 * shares it between all the requests it serves. Settings come from
 * `REDIS_URL` and `REDIS_KEY_PREFIX`.
 *
 * | Route                                | Does                                       |
 * | ------------------------------------ | ------------------------------------------ |
 * | `GET /subjects/:name`                | the subject's `dict()`                     |
 * | `PUT /subjects/:name`                | sets each property of a JSON object, then one atomic `store()` |
 * | `POST /subjects/:name/incr/:prop`    | atomic increment; replies `{ "value": n }` |
 *
 * Bad JSON, a body that is not an object, or a value JSON cannot store (such
 * as `1e400`, which reads as `Infinity`) gets 400, and nothing is written.
 * Incrementing a property that holds something other than a number gets 409
 * and leaves it alone. While Redis cannot be reached, requests get 503 within
 * about a second (`commandTimeoutMs`); once Redis is back, the next request
 * succeeds.
 *
 * ```sh
 * REDIS_URL=redis://localhost:6379/0 deno serve --parallel --host 127.0.0.1 \
 *   --allow-env=REDIS_URL,REDIS_KEY_PREFIX --allow-net=127.0.0.1,localhost \
 *   examples/worker.ts
 * curl -X POST localhost:8000/subjects/user-1/incr/logins   # {"value":1}
 * ```
 *
 * @module
 */

import {
  ConflictError,
  createRedisStorage,
  InvalidValueError,
  KRules,
  loadRedisConfig,
  RedisClient,
  RedisConnectionError,
  RedisTimeoutError,
} from "../mod.ts";

let krules: KRules | undefined;

/** The isolate's subjects, on a client created on first use; it connects on its first command. */
function subjects(): KRules {
  if (krules === undefined) {
    const { url, keyPrefix } = loadRedisConfig();
    const client = new RedisClient(url, {
      connectTimeoutMs: 1000,
      // Bounds each call, time spent waiting for a reconnect included: a
      // request fails with 503 within it while Redis is down, and reconnecting
      // goes on in the background.
      commandTimeoutMs: 1000,
    });
    krules = new KRules({ storage: createRedisStorage(client, { keyPrefix }) });
    // `deno serve` stops on these signals once nothing is left running; an
    // open connection would keep it alive. Platforms without signals stop
    // isolates by themselves.
    try {
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        Deno.addSignalListener(signal, () => client.close());
      }
    } catch {
      // No signal support here.
    }
  }
  return krules;
}

const SUBJECT = new URLPattern({ pathname: "/subjects/:name" });
const INCREMENT = new URLPattern({ pathname: "/subjects/:name/incr/:prop" });

/** Refuses to increment what is not a number, rather than overwrite it. */
class NotANumber extends Error {}

/**
 * The README's increment, `(n ?? 0) + 1`, guarded: the body of a PUT can
 * store anything, and a property that is not a number is an error, so a
 * string is never replaced by 1.
 */
function increment(n: unknown): number {
  if (n !== undefined && typeof n !== "number") {
    throw new NotANumber(
      `holds ${
        JSON.stringify(n)
      }, not a number, so it cannot be incremented; it was left unchanged.`,
    );
  }
  return (n ?? 0) + 1;
}

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}

class BadRequest extends Error {}

async function readObject(request: Request): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new BadRequest("The body is not valid JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BadRequest("The body must be a JSON object of properties.");
  }
  if (!Object.keys(body).every((name) => name.isWellFormed())) {
    throw new BadRequest("Property names must be well-formed Unicode.");
  }
  return body as Record<string, unknown>;
}

function param(value: string | undefined): string {
  try {
    return decodeURIComponent(value ?? "");
  } catch {
    throw new BadRequest("The path is not valid percent-encoding.");
  }
}

async function route(request: Request): Promise<Response> {
  const incr = INCREMENT.exec(request.url);
  if (incr !== null && request.method === "POST") {
    const { name, prop } = incr.pathname.groups;
    const property = param(prop);
    try {
      const [value] = await subjects().subject(param(name)).set(
        property,
        increment,
        { useCache: false },
      );
      return json({ value });
    } catch (error) {
      if (!(error instanceof NotANumber)) throw error;
      return json({
        error: `Property ${JSON.stringify(property)} ${error.message}`,
      }, 409);
    }
  }
  const match = SUBJECT.exec(request.url);
  if (match !== null && request.method === "GET") {
    return json(
      await subjects().subject(param(match.pathname.groups.name)).dict(),
    );
  }
  if (match !== null && request.method === "PUT") {
    const name = param(match.pathname.groups.name);
    const properties = await readObject(request);
    const subject = subjects().subject(name);
    // Every value is checked before any is set: one bad value, nothing written.
    await subject.setMany(properties);
    await subject.store();
    return json(await subject.dict());
  }
  return json({ error: "Not found." }, 404);
}

export default {
  async fetch(request: Request): Promise<Response> {
    try {
      return await route(request);
    } catch (error) {
      if (error instanceof BadRequest || error instanceof InvalidValueError) {
        return json({ error: error.message }, 400);
      }
      if (
        error instanceof RedisConnectionError ||
        error instanceof RedisTimeoutError
      ) {
        return json({ error: "Redis is unavailable; retry shortly." }, 503);
      }
      if (error instanceof ConflictError) {
        return json({ error: "Too much contention; retry." }, 409);
      }
      throw error;
    }
  },
} satisfies Deno.ServeDefaultExport;
