/**
 * `deno task mutate`: breaks the code on purpose, one break at a time, and
 * checks that a test notices. The breaks (tests/mutations.ts) cover every
 * layer: the storage core, the JSON codec, subjects, the client, Cluster and
 * Sentinel, the events and the memory storage.
 *
 * Each mutation replaces one exact piece of source text in a temporary copy
 * of the repository, then runs there only the tests that should catch it. A
 * mutation the tests pass is a survivor: a break a user would see that no
 * test checks. Type checking is off in those runs, so only a failing test
 * counts as caught. A mutation whose text no longer occurs exactly once is
 * reported as an error (update it to the code), never skipped; so is one
 * whose tests fail without it, since then their failing would prove nothing.
 *
 * Not part of CI: it takes minutes. Arguments select mutations by layer
 * (`storage`, `json`, `subject`, `client`, `cluster`, `sentinel`, `events`,
 * `memory`) or by a
 * part of their name, e.g. `deno task mutate events memory` or
 * `deno task mutate jitter`; `--check` only checks that every mutation
 * still fits the code, in a second.
 *
 * @module
 */

import { type Mutation, MUTATIONS } from "./mutations.ts";

/** The tests get the permissions deno.json gives them (its `test.permissions`). */
const FLAGS = ["--no-check", "-P"];
/**
 * What the copy needs to run the tests: the entry points (every `.ts` file
 * at the top, so a new one is not forgotten) and these.
 */
const COPIED = [
  "deno.json",
  "deno.lock",
  "src",
  "tests",
  "examples",
  "docs",
  ...[...Deno.readDirSync(".")]
    .filter((entry) => entry.isFile && entry.name.endsWith(".ts"))
    .map((entry) => entry.name),
];
/**
 * An unmutated run that takes longer is stopped, and counts as an error. A
 * mutated run is stopped after three times its unmutated run's time (at
 * least {@link MIN_MUTATED_LIMIT_MS}): a break that makes a test hang counts
 * as caught, as a CI job's time limit would catch it.
 */
const BASELINE_LIMIT_MS = 300_000;
const MIN_MUTATED_LIMIT_MS = 30_000;

async function copy(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isFile) return await Deno.copyFile(from, to);
  await Deno.mkdir(to);
  for await (const entry of Deno.readDir(from)) {
    await copy(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** Kills the process group `pgid` (one run's tests and their servers), if any is left. */
async function stopGroup(pgid: number): Promise<void> {
  await new Deno.Command("kill", {
    args: ["-KILL", "--", `-${pgid}`],
    stdout: "null",
    stderr: "null",
  }).output();
}

/**
 * The tests a run reports as failed, as `file: name`, from the summary Deno
 * prints after "FAILURES", so that a report says which test caught a break.
 */
function failedTests(output: string): string[] {
  const summary = output.slice(output.lastIndexOf("FAILURES"));
  const failed = new Set<string>();
  for (const match of summary.matchAll(/^(.+?) => \.\/tests\/([^:]+):/gm)) {
    failed.add(`${match[2]}: ${match[1].trim()}`);
  }
  return [...failed];
}

/** Why `mutation` no longer fits `source`, or `undefined` when it does. */
function misfit(mutation: Mutation, source: string): string | undefined {
  const count = source.split(mutation.from).length - 1;
  return count === 1
    ? undefined
    : `its text occurs ${count} times in ${mutation.file}, not once; update the mutation to the code`;
}

interface Outcome {
  readonly passed: boolean;
  readonly timedOut: boolean;
  readonly output: string;
  readonly ms: number;
}

/** Runs `mutation`'s tests in a fresh copy with `mutation` applied (or none). */
async function attempt(
  mutation: Mutation,
  apply: boolean,
  limitMs: number,
): Promise<Outcome> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mutate-" });
  try {
    for (const path of COPIED) await copy(path, `${dir}/${path}`);
    if (apply) {
      const path = `${dir}/${mutation.file}`;
      const source = await Deno.readTextFile(path);
      await Deno.writeTextFile(
        path,
        source.replace(mutation.from, () => mutation.to),
      );
    }
    // In a process group of its own, so that the servers the tests start
    // go with it when it is stopped.
    const child = new Deno.Command("setsid", {
      args: [
        "deno",
        "test",
        "-q",
        ...FLAGS,
        ...(mutation.filter === undefined
          ? []
          : [`--filter=/${mutation.filter}/`]),
        ...mutation.tests,
      ],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const began = performance.now();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stopGroup(child.pid);
    }, limitMs);
    const { success, stdout, stderr } = await child.output();
    clearTimeout(timer);
    // A server a failing test left running goes too.
    await stopGroup(child.pid);
    const decoder = new TextDecoder();
    return {
      passed: success && !timedOut,
      timedOut,
      output: decoder.decode(stdout) + decoder.decode(stderr),
      ms: performance.now() - began,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const checkOnly = Deno.args.includes("--check");
const words = Deno.args.filter((arg) => arg !== "--check");
const selected = MUTATIONS.filter((m) =>
  words.length === 0 ||
  words.some((word) => m.layer === word || m.name.includes(word))
);
if (selected.length === 0) {
  console.error(`No mutation matches ${words.join(" ")}.`);
  Deno.exit(2);
}

// Every selected mutation is checked against the code first, so a misfit is
// known in a second, not after minutes of test runs.
const misfits = new Map<Mutation, string>();
for (const mutation of selected) {
  const why = misfit(mutation, await Deno.readTextFile(mutation.file));
  if (why !== undefined) {
    misfits.set(mutation, why);
    console.error(`"${mutation.name}": ${why}.`);
  }
}
if (checkOnly) {
  console.log(
    `${
      selected.length - misfits.size
    } of ${selected.length} mutations fit the code.`,
  );
  Deno.exit(misfits.size === 0 ? 0 : 1);
}

const rows: string[] = [];
const baselines = new Map<string, Outcome>();
const counts = { caught: 0, survived: 0, errors: 0 };
const began = performance.now();
for (const mutation of selected) {
  const started = performance.now();
  let verdict: string;
  if (misfits.has(mutation)) {
    counts.errors++;
    verdict = "ERROR: text not found once";
  } else {
    // The tests must pass without the break, or a failure would prove nothing.
    const key = JSON.stringify([mutation.tests, mutation.filter]);
    const baseline = baselines.get(key) ??
      await attempt(mutation, false, BASELINE_LIMIT_MS);
    baselines.set(key, baseline);
    if (!baseline.passed) {
      counts.errors++;
      verdict = baseline.timedOut
        ? "ERROR: tests hang without it"
        : "ERROR: tests fail without it";
      console.error(baseline.output);
    } else {
      const mutated = await attempt(
        mutation,
        true,
        Math.max(MIN_MUTATED_LIMIT_MS, 3 * baseline.ms),
      );
      if (mutated.passed) {
        counts.survived++;
        verdict = "SURVIVED";
      } else {
        counts.caught++;
        const by = failedTests(mutated.output);
        verdict = mutated.timedOut
          ? "caught (tests hung)"
          : `caught${by.length > 0 ? ` by: ${by.join("; ")}` : ""}`;
      }
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const where = mutation.tests.map((t) => t.replace("tests/", "")).join(", ");
  rows.push(
    `| ${mutation.layer} | ${mutation.name} | ${where} | ${verdict} | ${seconds} s |`,
  );
  console.log(rows.at(-1));
}
const minutes = ((performance.now() - began) / 60_000).toFixed(1);
console.log(
  [
    "",
    "| layer | mutation | tests run | result | time |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `${selected.length} mutations in ${minutes} min: ${counts.caught} caught, ${counts.survived} survived${
      counts.errors > 0 ? `, ${counts.errors} errors` : ""
    }.`,
  ].join("\n"),
);
Deno.exit(counts.survived + counts.errors === 0 ? 0 : 1);
