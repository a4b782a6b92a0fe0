import assert from "node:assert/strict";
import {
  backoffDelay,
  type BackoffPolicy,
  sleep,
} from "../../src/async/backoff.ts";

const SAMPLES = 2000;

/** `SAMPLES` waits before retry `retry`, sorted. */
function waits(retry: number, policy: BackoffPolicy): number[] {
  return Array.from({ length: SAMPLES }, () => backoffDelay(retry, policy))
    .sort((a, b) => a - b);
}

Deno.test("backoffDelay: full jitter spreads the waits over 0 to a bound that doubles from baseMs up to maxMs", () => {
  const policy = { baseMs: 4, maxMs: 100, floor: 0 };
  for (
    const [retry, bound] of [[1, 4], [2, 8], [3, 16], [5, 64], [6, 100], [
      40,
      100,
    ]]
  ) {
    const sorted = waits(retry, policy);
    assert.ok(sorted[0] >= 0, `retry ${retry}: ${sorted[0]} < 0`);
    assert.ok(sorted.at(-1)! <= bound, `retry ${retry}: past ${bound}`);
    // Uniform over [0, bound]: the extremes are reached and the middle is
    // the median; a wait without jitter would be the bound every time.
    assert.ok(sorted[0] < 0.02 * bound, `retry ${retry}: min ${sorted[0]}`);
    assert.ok(sorted.at(-1)! > 0.98 * bound, `retry ${retry}: max`);
    const median = sorted[SAMPLES / 2];
    assert.ok(Math.abs(median - bound / 2) < 0.06 * bound, `median ${median}`);
  }
});

Deno.test("backoffDelay: a floor keeps that share of the bound and jitters the rest", () => {
  const sorted = waits(3, { baseMs: 10, maxMs: 1000, floor: 0.5 });
  assert.ok(sorted[0] >= 20 && sorted.at(-1)! <= 40, `${sorted[0]}..`);
  assert.ok(sorted[0] < 20.5 && sorted.at(-1)! > 39.5);
  assert.deepEqual(waits(2, { baseMs: 10, maxMs: 1000, floor: 1 }).at(0), 20);
});

Deno.test("sleep: resolves after its time, or at once when its signal aborts", async () => {
  let started = performance.now();
  await sleep(20);
  assert.ok(performance.now() - started >= 19);
  const controller = new AbortController();
  started = performance.now();
  const waiting = sleep(10_000, controller.signal);
  controller.abort();
  await waiting;
  assert.ok(performance.now() - started < 1000);
  await sleep(10_000, controller.signal); // already aborted: at once
});
