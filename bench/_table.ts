/**
 * The benchmark report: one row per scenario and run of the table, summed up
 * over repeated runs as the median figure and the min–max range of every
 * ratio, printed as a short markdown table with the notes under it; and the
 * concurrency pool the scenarios share.
 *
 * @module
 */
import process from "node:process";

/** One measured scenario in one run of the table. Higher is better unless `lowerIsBetter` is set. */
export interface Row {
  /** What was measured, with its unit; short, it is the table's first column. */
  scenario: string;
  /** This module's figure; `NaN` when the scenario could not run (say why in `note`). */
  ours: number;
  /** Each baseline's figure, by name. The first one is the ratio's reference. */
  baselines: Record<string, number>;
  /** The ratio ours/baseline to reach (at least, or at most when lower is better). */
  target?: number;
  /** For times and sizes: smaller figures win, and the ratio must stay ≤ target. */
  lowerIsBetter?: boolean;
  /** Anything a reader needs to read the row right; printed under the table. */
  note?: string;
}

/** One scenario over every run of the table. */
export interface Summary {
  /** The scenario, as in its rows. */
  scenario: string;
  /** This module's figure in each run. */
  ours: number[];
  /** Each baseline's figure in each run, by name. */
  baselines: Record<string, number[]>;
  /** The ratio against the first baseline in each run. */
  ratios: number[];
  /** The target ratio, if any. */
  target?: number;
  /** Whether smaller figures win. */
  lowerIsBetter?: boolean;
  /** The note of the last run. */
  note?: string;
  /**
   * Whether the target is met at the worse end of the ratio's range, so a
   * target met only within run-to-run noise does not count.
   */
  met?: boolean;
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

/**
 * Runs each of `contenders` `runs` times, alternating which one goes first
 * from run to run so that neither always gets the warmer (or the busier)
 * machine, and returns each one's results in run order.
 */
export async function alternate<K extends string>(
  runs: number,
  contenders: Record<K, () => Promise<number>>,
): Promise<Record<K, number[]>> {
  const names = Object.keys(contenders) as K[];
  const results = Object.fromEntries(
    names.map((name) => [name, [] as number[]]),
  ) as Record<K, number[]>;
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) results[name].push(await contenders[name]());
  }
  return results;
}

/**
 * Like {@linkcode alternate}, but each run is cut into `slices` turns that
 * alternate between the contenders (the order flipping every turn), so that
 * a shared machine whose load changes within a run slows every contender
 * alike. Each contender does `1/slices` of its work per turn (`run(turn)`
 * returns that turn's rate); a run's figure is its operations over the time
 * of all its turns. Also the process CPU per turn, in ms, to tell time spent
 * working from time spent waiting on a busy machine.
 */
export async function interleave<K extends string>(
  runs: number,
  slices: number,
  contenders: Record<K, (turn: number) => Promise<number>>,
): Promise<{ rates: Record<K, number[]>; cpu: Record<K, number[]> }> {
  const names = Object.keys(contenders) as K[];
  const empty = () =>
    Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
      K,
      number[]
    >;
  const rates = empty();
  const cpu = empty();
  for (let r = 0; r < runs; r++) {
    const seconds = Object.fromEntries(names.map((n) => [n, 0])) as Record<
      K,
      number
    >;
    const cpuMs = { ...seconds };
    for (let turn = 0; turn < slices; turn++) {
      const order = turn % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const before = processCpuMs();
        // A turn's rate is ops/s for 1/slices of the work.
        seconds[name] += 1 / (await contenders[name](turn));
        cpuMs[name] += processCpuMs() - before;
      }
    }
    for (const name of names) {
      rates[name].push(slices / seconds[name]);
      cpu[name].push(cpuMs[name]);
    }
  }
  return { rates, cpu };
}

/** User and system CPU time of this process so far, in ms. */
function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The `p` quantile (0 to 1) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** The ratio of `ours` to the first baseline, or `undefined` without one. */
export function ratio(row: Row): number | undefined {
  const first = Object.values(row.baselines)[0];
  // A ratio of figures at or below zero (a heap that shrank) means nothing.
  if (first === undefined || !(first > 0) || !(row.ours > 0)) {
    return undefined;
  }
  return row.ours / first;
}

/** Groups the rows of every run by scenario, in the order they first ran. */
export function summarize(runs: Row[][]): Summary[] {
  const byScenario = new Map<string, Summary>();
  for (const rows of runs) {
    for (const row of rows) {
      let summary = byScenario.get(row.scenario);
      if (summary === undefined) {
        summary = {
          scenario: row.scenario,
          ours: [],
          baselines: {},
          ratios: [],
          target: row.target,
          lowerIsBetter: row.lowerIsBetter,
        };
        byScenario.set(row.scenario, summary);
      }
      summary.ours.push(row.ours);
      for (const [name, value] of Object.entries(row.baselines)) {
        (summary.baselines[name] ??= []).push(value);
      }
      const r = ratio(row);
      if (r !== undefined) summary.ratios.push(r);
      summary.note = row.note;
    }
  }
  for (const summary of byScenario.values()) {
    if (summary.target === undefined || summary.ratios.length === 0) continue;
    summary.met = summary.lowerIsBetter
      ? Math.max(...summary.ratios) <= summary.target
      : Math.min(...summary.ratios) >= summary.target;
  }
  return [...byScenario.values()];
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  if (n >= 100) return Math.round(n).toLocaleString("en-US");
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function range(values: number[]): string {
  if (values.length === 0) return "—";
  const low = Math.min(...values);
  const high = Math.max(...values);
  const digits = high >= 10 ? 0 : 2;
  return low.toFixed(digits) === high.toFixed(digits)
    ? `${low.toFixed(digits)}×`
    : `${low.toFixed(digits)}–${high.toFixed(digits)}×`;
}

/**
 * Renders the summaries as a markdown table (median figures, min–max ratio
 * over the runs) followed by the numbered notes.
 */
export function formatTable(summaries: Summary[]): string {
  const lines = [
    "| # | scenario | ours | baseline | ratio (min–max) | target | met |",
    "| --: | --- | ---: | --- | ---: | ---: | :---: |",
  ];
  const notes: string[] = [];
  summaries.forEach((s, i) => {
    const baselines = Object.entries(s.baselines)
      .map(([name, values]) => `${name}: ${fmt(median(values))}`)
      .join("<br>");
    lines.push(
      `| ${i + 1} | ${s.scenario} | ${fmt(median(s.ours))} | ${
        baselines || "—"
      } | ${range(s.ratios)} | ${
        s.target === undefined
          ? "—"
          : `${s.lowerIsBetter ? "≤" : "≥"} ${s.target}×`
      } | ${s.met === undefined ? "—" : s.met ? "yes" : "no"} |`,
    );
    // "row N:" rather than "N.": a markdown formatter renumbers a list.
    if (s.note) notes.push(`- row ${i + 1}: ${s.note}`);
  });
  return notes.length === 0
    ? lines.join("\n")
    : `${lines.join("\n")}\n\nNotes (from the last run):\n\n${
      notes.join("\n")
    }`;
}
