/**
 * The benchmark report (one row per scenario, printed as a markdown table
 * with each baseline side by side and the ratio against the target) and the
 * concurrency pool the scenarios share.
 *
 * @module
 */

/** One measured scenario. Higher is better unless `lowerIsBetter` is set. */
export interface Row {
  /** What was measured, with its unit. */
  scenario: string;
  /** This module's figure. */
  ours: number;
  /** Each baseline's figure, by name. The first one is the ratio's reference. */
  baselines: Record<string, number>;
  /** The ratio ours/baseline (or baseline/ours when lower is better) to reach. */
  target?: number;
  /** For times: smaller figures win, and the ratio is ours/baseline ≤ target. */
  lowerIsBetter?: boolean;
  /** Anything a reader needs to read the row right. */
  note?: string;
}

/**
 * Runs `task(i)` for every i in [0, total), `inFlight` at a time, and returns
 * the rate in operations per second.
 */
export async function pool(
  total: number,
  inFlight: number,
  task: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) await task(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The ratio of `ours` to the first baseline, or `undefined` without one. */
export function ratio(row: Row): number | undefined {
  const first = Object.values(row.baselines)[0];
  if (first === undefined || first === 0) return undefined;
  return row.ours / first;
}

/** Whether the row meets its target, or `undefined` when it has none. */
export function met(row: Row): boolean | undefined {
  const r = ratio(row);
  if (row.target === undefined || r === undefined) return undefined;
  return row.lowerIsBetter ? r <= row.target : r >= row.target;
}

function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString("en-US");
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** Renders rows as a markdown table. */
export function formatTable(rows: Row[]): string {
  const lines = [
    "| scenario | ours | baselines | ratio | target | met |",
    "| --- | ---: | --- | ---: | ---: | :---: |",
  ];
  for (const row of rows) {
    const r = ratio(row);
    const ok = met(row);
    const baselines = Object.entries(row.baselines)
      .map(([name, value]) => `${name}: ${fmt(value)}`)
      .join("<br>");
    lines.push(
      `| ${row.scenario}${row.note ? ` (${row.note})` : ""} | ${
        fmt(row.ours)
      } | ${baselines || "—"} | ${
        r === undefined ? "—" : `${r.toFixed(2)}×`
      } | ${
        row.target === undefined
          ? "—"
          : `${row.lowerIsBetter ? "≤" : "≥"} ${row.target}×`
      } | ${ok === undefined ? "—" : ok ? "yes" : "no"} |`,
    );
  }
  return lines.join("\n");
}
