/**
 * Traces and metrics of one client, through Deno's built-in OpenTelemetry:
 * a `CLIENT` span per command, named for it and carrying OpenTelemetry's
 * database attributes for Redis, and the operation, pending-command and
 * connection metrics.
 *
 * Everything here exists only while Deno exports telemetry (`OTEL_DENO=true`);
 * otherwise {@linkcode clientTelemetry} returns `null` and a client's hot
 * path costs one `null` check.
 *
 * It knows the client only by shape (its events, its errors' `code` and
 * `name`), so that `src/client/` can import it without a cycle.
 *
 * @module
 */

import {
  type Attributes,
  type Counter,
  type Histogram,
  meter,
  parentSampledOut,
  type Span,
  SPAN_KIND_CLIENT,
  SPAN_STATUS_ERROR,
  tracer,
} from "./_otel.ts";
import { queryText } from "./query_text.ts";

/** Telemetry settings of a client. */
export interface TelemetryOptions {
  /**
   * Adds `db.query.text` to command spans: the command with its keys and
   * hash field names, values replaced by `?` (`HSET s:app:user-1 pname ?`).
   * Key and field names may be personal data in your application, so this
   * is off unless you turn it on. Credentials and values never show.
   *
   * @default {false}
   */
  queryText?: boolean;
}

/** Where a client sends its commands, as the spans name it. */
export interface TelemetryTarget {
  /** Host name or IP address of the server. */
  hostname: string;
  /** TCP port of the server. */
  port: number;
  /** The database index. */
  db: number;
}

/** Seconds buckets OpenTelemetry advises for `db.client.operation.duration`. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** Command names whose attribute sets a target keeps; beyond, each is built anew. */
const MAX_OPERATIONS = 256;

/** How stale, in milliseconds, the pending-requests sum may get while commands flow. */
const PENDING_REFRESH_MS = 1000;

/**
 * What every command of one name sent to one server records, built once:
 * its span's name and options, the attributes given at the span's creation
 * (where OpenTelemetry asks for them, and where Deno sizes the span's
 * attribute list once), and the same attributes for its duration.
 */
interface Operation {
  /** The span's name: the command, upper-cased. */
  readonly name: string;
  /** The attributes of its span and its duration. */
  readonly attributes: Attributes;
  /** `startSpan` options: `CLIENT`, with `attributes`. */
  readonly span: { kind: number; attributes: Attributes };
}

/**
 * What the telemetry of every client sending to one server shares: its
 * attributes, one frozen {@linkcode Operation} per command name built on its
 * first use rather than on every command, and its commands waiting for a
 * reply.
 */
class Target {
  readonly base: Attributes;
  /** By the command name as sent, so a known name costs one look-up. */
  readonly #operations = new Map<unknown, Operation>();
  /** Commands sent and not yet answered. */
  #pending = 0;
  /** What the pending-requests counter says, from the last `add`. */
  #reported = 0;
  /** When `#reported` was last brought up to date. */
  #reportedAt = -Infinity;

  constructor(base: Attributes) {
    this.base = Object.freeze(base);
  }

  /** What a command whose name is `command` (`args[0]`) records on this server. */
  of(command: unknown): Operation {
    let operation = this.#operations.get(command);
    if (operation === undefined) {
      const name = typeof command === "string"
        ? command.toUpperCase()
        : String(command);
      const attributes = Object.freeze({
        ...this.base,
        "db.operation.name": name,
      });
      operation = Object.freeze({
        name,
        attributes,
        span: Object.freeze({ kind: SPAN_KIND_CLIENT, attributes }),
      });
      // A client may send any name, and bytes are no stable key; only so
      // many strings are kept.
      if (
        typeof command === "string" && this.#operations.size < MAX_OPERATIONS
      ) {
        this.#operations.set(command, operation);
      }
    }
    return operation;
  }

  /**
   * Counts a command sent (`+1`) or answered (`-1`) at `now`. Telling the
   * counter of each would cost two recordings per command, as much as its
   * span; it is told the difference instead whenever the server has no
   * command left waiting, so it reads 0 when idle and at exit, and at most
   * once a `PENDING_REFRESH_MS` while commands flow.
   */
  pending(delta: 1 | -1, now: number, counter: Counter | undefined): void {
    const pending = this.#pending += delta;
    if (counter === undefined || pending === this.#reported) return;
    if (pending === 0 || now - this.#reportedAt >= PENDING_REFRESH_MS) {
      counter.add(pending - this.#reported, this.base);
      this.#reported = pending;
      this.#reportedAt = now;
    }
  }
}

/** Every server some client of this process sends to, by its attributes. */
const targets = new Map<string, Target>();

function targetOf(base: Attributes): Target {
  const key = JSON.stringify(base);
  let target = targets.get(key);
  if (target === undefined) {
    target = new Target(base);
    targets.set(key, target);
  }
  return target;
}

interface Instruments {
  duration: Histogram;
  pending: Counter;
  connections: Counter;
  reconnects: Counter;
  connectionErrors: Counter;
}

/** Made once per process, on the first client, and only when metrics export. */
let instruments: Instruments | null | undefined;

function getInstruments(): Instruments | null {
  if (instruments !== undefined) return instruments;
  if (meter === null) return instruments = null;
  return instruments = {
    duration: meter.createHistogram("db.client.operation.duration", {
      description: "Duration of Redis commands, from send to reply.",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    pending: meter.createUpDownCounter(
      "db.client.connection.pending_requests",
      {
        description: "Commands sent and still waiting for their reply.",
        unit: "{request}",
      },
    ),
    connections: meter.createUpDownCounter("db.client.connection.count", {
      description: "Open connections to Redis servers.",
      unit: "{connection}",
    }),
    reconnects: meter.createCounter("redis_subjects.client.reconnects", {
      description: "Connections re-established after a drop.",
      unit: "{reconnect}",
    }),
    connectionErrors: meter.createCounter(
      "redis_subjects.client.connection.errors",
      {
        description: "Failed connection attempts and connections that dropped.",
        unit: "{error}",
      },
    ),
  };
}

/**
 * The telemetry of one client: it ends each command's span and records its
 * duration when the reply settles, so auto-pipelined commands each get
 * their own span.
 */
export class ClientTelemetry {
  readonly #target: Target;
  readonly #queryText: boolean;
  readonly #instruments: Instruments | null;

  /**
   * @param target The server the client talks to.
   * @param options Whether to record `db.query.text`.
   */
  constructor(target: TelemetryTarget, options: TelemetryOptions) {
    this.#target = targetOf({
      "db.system.name": "redis",
      "db.namespace": String(target.db),
      "server.address": target.hostname,
      "server.port": target.port,
    });
    this.#queryText = options.queryText === true;
    this.#instruments = getInstruments();
  }

  /**
   * Traces one command whose reply `reply` will deliver; the span's parent is
   * the caller's active context, and there is no span when that context's
   * trace is not recorded. The duration is recorded either way.
   *
   * @param args The command sent.
   * @param reply Its pending reply.
   * @returns A promise that settles as `reply` does, once the span has ended.
   */
  command<T>(args: readonly unknown[], reply: Promise<T>): Promise<T> {
    const operation = this.#target.of(args[0]);
    const started = performance.now();
    let span: Span | undefined;
    if (tracer !== null && !parentSampledOut()) {
      span = tracer.startSpan(operation.name, operation.span);
      if (this.#queryText) span.setAttribute("db.query.text", queryText(args));
    }
    this.#target.pending(1, started, this.#instruments?.pending);
    return reply.then(
      (value) => {
        this.#settled(operation, started, span, undefined);
        return value;
      },
      (error: unknown) => {
        this.#settled(operation, started, span, error);
        throw error;
      },
    );
  }

  #settled(
    operation: Operation,
    started: number,
    span: Span | undefined,
    error: unknown,
  ): void {
    const now = performance.now();
    this.#target.pending(-1, now, this.#instruments?.pending);
    if (error === undefined) {
      span?.end();
      this.#instruments?.duration.record(
        (now - started) / 1000,
        operation.attributes,
      );
      return;
    }
    // The type only: an error's message may quote the server, and the
    // server may quote a value.
    const errorType = typeOf(error);
    const code = replyCode(error);
    const failed: Attributes = {
      ...operation.attributes,
      "error.type": errorType,
    };
    if (code !== undefined) failed["db.response.status_code"] = code;
    if (span !== undefined) {
      // Only what the span lacks: it has the rest from its start.
      span.setAttribute("error.type", errorType);
      if (code !== undefined) {
        span.setAttribute("db.response.status_code", code);
      }
      span.setStatus({ code: SPAN_STATUS_ERROR, message: errorType });
      span.end();
    }
    this.#instruments?.duration.record((now - started) / 1000, failed);
  }

  /**
   * Counts open connections, reconnects and connection errors from the
   * client's events.
   *
   * @param client The client whose events to count.
   */
  watch(client: EventTarget): void {
    const instruments = this.#instruments;
    if (instruments === null) return;
    const base = this.#target.base;
    const on = (type: string, listener: (event: ClientEvent) => void) =>
      client.addEventListener(type, listener as EventListener);
    on("connect", (event) => {
      instruments.connections.add(1, base);
      if (event.reconnect === true) instruments.reconnects.add(1, base);
    });
    on("disconnect", (event) => {
      instruments.connections.add(-1, base);
      if (event.cause !== undefined) {
        instruments.connectionErrors.add(1, {
          ...base,
          "error.type": typeOf(event.cause),
        });
      }
    });
    on("error", (event) => {
      instruments.connectionErrors.add(1, {
        ...base,
        "error.type": typeOf(event.error),
      });
    });
  }
}

/** The fields of the client's `connect`, `disconnect` and `error` events read here. */
interface ClientEvent extends Event {
  readonly reconnect?: boolean;
  readonly cause?: unknown;
  readonly error?: unknown;
}

/** The Redis error code of an error reply (`RedisReplyError.code`), if it is one. */
function replyCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === "string" ? code : undefined;
}

/** `error.type`: the Redis error code for error replies, else the error's class name. */
function typeOf(error: unknown): string {
  return replyCode(error) ??
    (error instanceof Error ? error.name : "_OTHER");
}

/**
 * The telemetry of a client that sends to `target`, watching its events for
 * the connection metrics, or `null` when Deno exports nothing (no
 * `OTEL_DENO`), so that the client skips it with one check.
 *
 * @param client The client, for its events.
 * @param target The server it sends to.
 * @param options The user's telemetry settings.
 * @returns The client's telemetry, or `null`.
 */
export function clientTelemetry(
  client: EventTarget,
  target: TelemetryTarget,
  options: TelemetryOptions = {},
): ClientTelemetry | null {
  if (tracer === null && meter === null) return null;
  const telemetry = new ClientTelemetry(target, options);
  telemetry.watch(client);
  return telemetry;
}
