// The memory procedure both clients run, each in a fresh process started by
// bench/memory.ts with --expose-gc, so that one's heap never holds the other's.

/** What a client does for the memory row. */
export interface MemoryWorkload {
  /** Loads subject `s` and keeps whatever the client keeps of it. */
  load(s: number): Promise<unknown>;
  /** Mixed operation number `i`: a read, or a write one time in five. */
  op(i: number): Promise<unknown>;
  /** Drops the connection. */
  close(): Promise<void>;
}

/** The figures the child prints as JSON, in MiB. */
export interface MemoryFigures {
  rss: number;
  heap: number;
  growth: number;
}

export const SUBJECTS = 10_000;
const OPS = 1_000_000;
const IN_FLIGHT = 256;

async function run(total: number, task: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

const gc = (globalThis as { gc?: () => void }).gc;

function settled(): { rss: number; heap: number } {
  if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc.");
  gc();
  gc();
  const { rss, heapUsed } = Deno.memoryUsage();
  return { rss: rss / 2 ** 20, heap: heapUsed / 2 ** 20 };
}

/** Loads every subject, measures, runs the mixed operations, measures again. */
export async function measure(workload: MemoryWorkload): Promise<void> {
  const kept: unknown[] = new Array(SUBJECTS);
  await run(SUBJECTS, async (s) => {
    kept[s] = await workload.load(s);
  });
  const loaded = settled();
  await run(OPS, (i) => workload.op(i));
  const after = settled();
  await workload.close();
  const figures: MemoryFigures = {
    rss: loaded.rss,
    heap: loaded.heap,
    growth: after.heap - loaded.heap,
  };
  if (kept.length !== SUBJECTS) throw new Error("lost the loaded subjects");
  console.log(JSON.stringify(figures));
}
