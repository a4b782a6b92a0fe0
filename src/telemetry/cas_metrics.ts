/**
 * Compare-and-set metrics of function `set()`s: how many updates tried to
 * write, and how many of those found the field changed and had to retry.
 *
 * @module
 */

import type { Counter } from "./_otel.ts";
import { meter } from "./_otel.ts";

/** Counters of compare-and-set rounds. */
export interface CasMetrics {
  /**
   * Records one round of the combiner: `updates` function `set()`s tried to
   * write together, and all of them conflicted or none did.
   *
   * @param updates How many updates the round carried.
   * @param conflicted Whether the field had changed since it was read.
   */
  round(updates: number, conflicted: boolean): void;
}

function create(): CasMetrics | null {
  if (meter === null) return null;
  const attributes = { "db.system.name": "redis" };
  const attempts: Counter = meter.createCounter(
    "redis_subjects.cas.attempts",
    {
      description:
        "Function set() updates that tried to write (each retry counts again).",
      unit: "{attempt}",
    },
  );
  const conflicts: Counter = meter.createCounter(
    "redis_subjects.cas.conflicts",
    {
      description:
        "Function set() updates that found the field changed and had to retry or fail.",
      unit: "{conflict}",
    },
  );
  return {
    round(updates: number, conflicted: boolean): void {
      attempts.add(updates, attributes);
      if (conflicted) conflicts.add(updates, attributes);
    },
  };
}

/** The compare-and-set counters, or `null` when Deno exports no metrics. */
export const casMetrics: CasMetrics | null = create();
