/**
 * Run by krules_close_test.ts in its own process with
 * `--v8-flags=--expose-gc`: opens 20,000 subjects that each hold a cached
 * change never stored and drops them, then prints as JSON how many the
 * KRules counted as dropped, whom it still names, and the heap growth after
 * GC: its bookkeeping must not keep them alive.
 *
 * @module
 */
import { createMemoryStorage } from "../../src/storage/memory_storage.ts";
import { KRules, unstoredChanges } from "../../src/subject/krules.ts";

const SUBJECTS = 20_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

const krules = new KRules({ storage: createMemoryStorage() });
const kept = krules.subject("kept");
await kept.set("a", 1);
gc();
gc();
const before = Deno.memoryUsage().heapUsed;
// In a function: a top-level scope may keep its temporaries alive.
async function dropSubjects(): Promise<void> {
  for (let i = 0; i < SUBJECTS; i++) {
    await krules.subject(`dropped-${i}`).set("payload", "x".repeat(200));
  }
}
await dropSubjects();
// Collection and the registry's callbacks take a few turns of the loop.
// Each check reads the subjects' weak references, which keeps them alive
// until the task ends, so every collection starts in a task of its own.
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));
let error = await unstoredChanges(krules, "");
for (let round = 0; round < 200; round++) {
  if (error?.droppedCount === SUBJECTS) break;
  await nextTask();
  gc();
  await nextTask();
  error = await unstoredChanges(krules, "");
}
gc();
gc();
const growthBytes = Deno.memoryUsage().heapUsed - before;
console.log(JSON.stringify({
  subjects: SUBJECTS,
  droppedCount: error?.droppedCount,
  namesListed: error?.dropped.length,
  live: error?.subjects.slice(0, 5),
  liveCount: error?.subjects.length,
  growthBytes,
  kept: kept.name,
}));
