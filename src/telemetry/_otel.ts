/**
 * The slice of the OpenTelemetry API this module uses, read from
 * `Deno.telemetry` (built into Deno, no package), and whether Deno exports
 * anything at all.
 *
 * @module
 */

/** An attribute value, as OpenTelemetry accepts it. */
export type AttributeValue = string | number | boolean;
/** Span and metric attributes. */
export type Attributes = Record<string, AttributeValue | undefined>;

/** The span methods this module calls. */
export interface Span {
  setAttribute(key: string, value: AttributeValue): unknown;
  setAttributes(attributes: Attributes): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

/** The tracer method this module calls; the parent is the active context. */
export interface Tracer {
  startSpan(
    name: string,
    options: { kind: number; attributes?: Attributes },
  ): Span;
}

/** A histogram instrument. */
export interface Histogram {
  record(value: number, attributes?: Attributes): void;
}

/** A counter or up-down counter instrument. */
export interface Counter {
  add(value: number, attributes?: Attributes): void;
}

/** The meter methods this module calls. */
export interface Meter {
  createHistogram(
    name: string,
    options: {
      description: string;
      unit: string;
      advice?: { explicitBucketBoundaries: number[] };
    },
  ): Histogram;
  createCounter(
    name: string,
    options: { description: string; unit: string },
  ): Counter;
  createUpDownCounter(
    name: string,
    options: { description: string; unit: string },
  ): Counter;
}

/** `SpanKind.CLIENT` in the OpenTelemetry JS API. */
export const SPAN_KIND_CLIENT = 2;
/** `SpanStatusCode.ERROR` in the OpenTelemetry JS API. */
export const SPAN_STATUS_ERROR = 2;

/** The instrumentation scope every span and metric of this module carries. */
export const SCOPE_NAME = "@x/redis-subjects";

interface OtelGlobal {
  trace?: unknown;
  metrics?: unknown;
}

/** The parts of an active span read here: its sampled flag. */
interface ParentSpan {
  spanContext?: () => { traceFlags: number };
}

interface DenoTelemetry {
  tracerProvider: {
    getTracer(name: string, version?: string): Tracer;
  };
  meterProvider: { getMeter(name: string, version?: string): Meter };
  contextManager: {
    active(): { getValue(key: symbol): ParentSpan | undefined };
  };
}

/**
 * Deno's telemetry, or `undefined` outside Deno or when it exports nothing.
 * Deno registers its providers as the global OpenTelemetry API only when
 * `OTEL_DENO` turned export on; checking that needs no environment
 * permission, and without it `startSpan` would throw. The global is checked
 * first: reading `Deno.telemetry` loads Deno's telemetry code, milliseconds
 * that a process exporting nothing would pay at import.
 */
function providers(): {
  telemetry: DenoTelemetry;
  tracing: boolean;
  metrics: boolean;
} | undefined {
  const api = (globalThis as Record<symbol, OtelGlobal | undefined>)[
    Symbol.for("opentelemetry.js.api.1")
  ];
  if (api === undefined) return undefined;
  const deno = (globalThis as { Deno?: { telemetry?: DenoTelemetry } }).Deno;
  const telemetry = deno?.telemetry;
  if (telemetry === undefined) return undefined;
  return {
    telemetry,
    tracing: api.trace === telemetry.tracerProvider,
    metrics: api.metrics === telemetry.meterProvider,
  };
}

const found = providers();

/** The tracer, or `null` when Deno exports no traces (no `OTEL_DENO`). */
export const tracer: Tracer | null = found?.tracing
  ? found.telemetry.tracerProvider.getTracer(SCOPE_NAME)
  : null;

/** Where OpenTelemetry keeps the active span in a context. */
const SPAN_KEY = Symbol.for("OpenTelemetry Context Key SPAN");

/** W3C trace flags: the bit set when the trace is recorded. */
const SAMPLED = 1;

const contexts = found?.tracing ? found.telemetry.contextManager : undefined;

/**
 * Whether the caller's active span belongs to a trace that is not recorded
 * (its sampled flag is off). A command span under it would be dropped by a
 * parent-based sampler (Deno's default), and under any other sampler it would
 * be an orphan in a trace nobody keeps; starting it costs Deno about as much
 * as the command itself, so the client starts none. `false` without a parent.
 */
export function parentSampledOut(): boolean {
  const parent = contexts?.active().getValue(SPAN_KEY);
  // Whatever sits under the key, telemetry never fails a command.
  return typeof parent?.spanContext === "function" &&
    (parent.spanContext().traceFlags & SAMPLED) === 0;
}

/** The meter, or `null` when Deno exports no metrics (no `OTEL_DENO`). */
export const meter: Meter | null = found?.metrics
  ? found.telemetry.meterProvider.getMeter(SCOPE_NAME)
  : null;
