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
 * On SIGINT or SIGTERM (how a platform stops a worker, killing it seconds
 * later) it stops within 5 seconds (`SHUTDOWN_GRACE_MS`): `deno serve` takes no
 * new connections, the requests in flight finish and store their changes,
 * `krules.close()` checks that no subject was left holding changes never
 * stored (and logs them if one was), and then the connection closes. A
 * request that still arrives meanwhile gets 503 without touching anything.
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

/**
 * How long a stopping worker lets its requests in flight finish, before it
 * closes the connection anyway: well under the seconds a platform waits
 * before it kills the process.
 */
const SHUTDOWN_GRACE_MS = 5000;

let krules: KRules | undefined;
let inFlight = 0;
// Resolved when the last request in flight finishes.
let drained: PromiseWithResolvers<void> | undefined;
// Set once the worker closes its subjects: requests get 503 from then on.
let closing = false;
let stopping: Promise<void> | undefined;

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
    const opened = new KRules({
      storage: createRedisStorage(client, { keyPrefix }),
    });
    krules = opened;
    // `deno serve` stops taking connections on these signals, and exits once
    // nothing is left running; the open connection would keep it alive, so
    // it is closed, after the requests in flight have stored what they
    // changed. Platforms without signals stop isolates by themselves.
    try {
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        Deno.addSignalListener(signal, () => {
          stopping ??= stop(opened, client);
        });
      }
    } catch {
      // No signal support here.
    }
  }
  return krules;
}

/** Lets the requests in flight finish, checks every change was stored, closes. */
async function stop(subjects: KRules, client: RedisClient): Promise<void> {
  const deadline = Date.now() + SHUTDOWN_GRACE_MS;
  console.log(
    `Stopping: ${inFlight} requests in flight get up to ${SHUTDOWN_GRACE_MS} ms to finish.`,
  );
  try {
    if (inFlight > 0) {
      drained ??= Promise.withResolvers();
      await within(drained.promise, deadline);
    }
    closing = true;
    await within(subjects.close(), deadline);
  } catch (error) {
    // Nothing left to do but say so: which subjects lost changes, or that
    // requests were still running when the grace time ran out.
    closing = true;
    console.error(error instanceof Error ? error.message : error);
  } finally {
    await client.close();
  }
}

/** Waits for `promise` until `deadline` (epoch ms), whichever comes first. */
async function within(
  promise: Promise<unknown>,
  deadline: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `The shutdown grace time ran out with ${inFlight} requests in flight.`,
          ),
        ),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
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
    if (closing) {
      return json({ error: "The worker is shutting down; retry." }, 503);
    }
    inFlight++;
    try {
      return await route(request);
    } catch (error) {
      if (error instanceof BadRequest || error instanceof InvalidValueError) {
        return json({ error: error.message }, 400);
      }
      if (closing) {
        // The subjects or the connection closed under this late request.
        return json({ error: "The worker is shutting down; retry." }, 503);
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
    } finally {
      if (--inFlight === 0) drained?.resolve();
    }
  },
} satisfies Deno.ServeDefaultExport;
