/**
 * Runs code inside the trace a W3C `traceparent` header names, as a service
 * does for a request that came with one: through Deno's own OpenTelemetry
 * propagator and context manager (`OTEL_DENO=true`), no package.
 *
 * @module
 */

interface Carrier {
  traceparent: string;
}

interface Propagation {
  extract(
    context: unknown,
    carrier: Carrier,
    getter: {
      keys(carrier: Carrier): string[];
      get(carrier: Carrier, key: string): string | undefined;
    },
  ): unknown;
}

interface ContextManager {
  active(): unknown;
  with<T>(context: unknown, fn: () => T): T;
}

/**
 * Calls `fn` with the trace `traceparent` names as its active context, so the
 * spans started under it are its children; `fn` alone when Deno exports no
 * traces.
 *
 * @param traceparent `00-<trace id>-<parent span id>-<flags>`; flags `00`
 *   mean the caller does not record the trace, `01` that it does.
 * @param fn What to run inside it.
 * @returns What `fn` returns.
 */
export function insideTrace<T>(traceparent: string, fn: () => T): T {
  const api = (globalThis as Record<symbol, { propagation?: Propagation }>)[
    Symbol.for("opentelemetry.js.api.1")
  ];
  if (api?.propagation === undefined) return fn();
  const contexts = (Deno as unknown as {
    telemetry: { contextManager: ContextManager };
  }).telemetry.contextManager;
  const parent = api.propagation.extract(contexts.active(), { traceparent }, {
    keys: (carrier) => Object.keys(carrier),
    get: (carrier, key) =>
      key === "traceparent" ? carrier.traceparent : undefined,
  });
  return contexts.with(parent, fn);
}
