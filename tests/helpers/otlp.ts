/**
 * An OTLP/HTTP receiver for tests: a `Deno.serve` on loopback that takes
 * what Deno exports with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` and reads
 * the spans and metrics out of it.
 *
 * @module
 */

/** An attribute value as OTLP/JSON encodes it. */
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}

interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

/** One exported span, with its attributes as a plain record. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's numbering: 2 is SERVER, 3 is CLIENT. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  /** 2 is ERROR. */
  statusCode: number;
  attributes: Record<string, string | number | boolean>;
}

/** One data point of an exported metric. */
export interface ReceivedPoint {
  /** The metric's name, e.g. `db.client.operation.duration`. */
  metric: string;
  unit: string;
  /** `histogram` or `sum`. */
  kind: string;
  attributes: Record<string, string | number | boolean>;
  /** A sum's value, or a histogram's count of recordings. */
  value: number;
}

/** The running receiver. Dispose of it to stop it. */
export interface OtlpReceiver extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly endpoint: string;
  /** Every request body received so far, as text, for secret checks. */
  readonly bodies: readonly string[];
  /** Every span received so far. */
  spans(): ReceivedSpan[];
  /** Every metric data point received so far. */
  points(): ReceivedPoint[];
  /**
   * Resolves once `done()` holds after a receipt, or rejects after
   * `timeoutMs`: the exporter batches, so tests wait for what they expect.
   */
  until(done: () => boolean, timeoutMs: number): Promise<void>;
}

function plain(
  attributes: OtlpAttribute[] | undefined,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    out[key] = value.stringValue ?? value.boolValue ??
      (value.intValue !== undefined
        ? Number(value.intValue)
        : value.doubleValue ?? "");
  }
  return out;
}

/**
 * Starts the receiver on a free loopback port.
 *
 * @returns The receiver; its `endpoint` goes into the exporter's environment.
 */
export function startOtlpReceiver(): OtlpReceiver {
  const bodies: string[] = [];
  const spans: ReceivedSpan[] = [];
  const points: ReceivedPoint[] = [];
  const wakers = new Set<() => void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const text = await request.text();
      bodies.push(text);
      const path = new URL(request.url).pathname;
      // deno-lint-ignore no-explicit-any
      const body = JSON.parse(text) as any;
      if (path === "/v1/traces") {
        for (const resource of body.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId ?? "",
                name: span.name,
                kind: span.kind,
                startNs: BigInt(span.startTimeUnixNano),
                endNs: BigInt(span.endTimeUnixNano),
                statusCode: span.status?.code ?? 0,
                attributes: plain(span.attributes),
              });
            }
          }
        }
      } else if (path === "/v1/metrics") {
        for (const resource of body.resourceMetrics ?? []) {
          for (const scope of resource.scopeMetrics ?? []) {
            for (const metric of scope.metrics ?? []) {
              const kind = metric.histogram ? "histogram" : "sum";
              for (
                const point of (metric.histogram ?? metric.sum)?.dataPoints ??
                  []
              ) {
                points.push({
                  metric: metric.name,
                  unit: metric.unit ?? "",
                  kind,
                  attributes: plain(point.attributes),
                  value: Number(point.count ?? point.asDouble ?? point.asInt),
                });
              }
            }
          }
        }
      }
      for (const wake of wakers) wake();
      return Response.json({});
    },
  );
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    bodies,
    spans: () => [...spans],
    points: () => [...points],
    async until(done, timeoutMs) {
      const deadline = AbortSignal.timeout(timeoutMs);
      while (!done()) {
        await new Promise<void>((resolve, reject) => {
          const expire = () => {
            wakers.delete(wake);
            reject(
              new Error(
                `the expected telemetry did not arrive within ${timeoutMs} ms`,
              ),
            );
          };
          const wake = () => {
            wakers.delete(wake);
            deadline.removeEventListener("abort", expire);
            resolve();
          };
          if (deadline.aborted) return expire();
          wakers.add(wake);
          deadline.addEventListener("abort", expire, { once: true });
        });
      }
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/**
 * Draws the spans of one trace as an indented tree, one line per span with
 * its name, kind and duration, and the attributes named in `show`.
 *
 * @param spans Spans of one trace.
 * @param show Attribute keys to print after each span.
 * @returns The tree, for a test's output and the README.
 */
export function spanTree(
  spans: readonly ReceivedSpan[],
  show: readonly string[],
): string {
  const kinds = ["", "internal", "server", "client", "producer", "consumer"];
  const ids = new Set(spans.map((s) => s.spanId));
  const lines: string[] = [];
  const walk = (span: ReceivedSpan, depth: number) => {
    const ms = Number(span.endNs - span.startNs) / 1e6;
    const attributes = show
      .filter((key) => key in span.attributes)
      .map((key) => `${key}=${span.attributes[key]}`);
    lines.push(
      `${"  ".repeat(depth)}${span.name} [${kinds[span.kind]}${
        span.statusCode === 2 ? ", ERROR" : ""
      }] ${ms.toFixed(2)} ms${
        attributes.length ? "  " + attributes.join(" ") : ""
      }`,
    );
    spans
      .filter((child) => child.parentSpanId === span.spanId)
      .sort((a, b) => (a.startNs < b.startNs ? -1 : 1))
      .forEach((child) => walk(child, depth + 1));
  };
  for (const root of spans.filter((s) => !ids.has(s.parentSpanId))) {
    walk(root, 0);
  }
  return lines.join("\n");
}
