/**
 * Figures a test measured (counts, latencies, rates), printed so that
 * `deno task test` shows them above its summary (see `run.ts`) while it
 * hides every other passing test's output.
 *
 * @module
 */

/** How a line of figures starts. */
export const FIGURES = "[figures] ";

/** Prints one line of figures. */
export function reportFigures(line: string): void {
  console.log(FIGURES + line);
}
