/**
 * `deno task test`: the whole suite, quietly, with one summary.
 *
 * The suite runs as two `deno test` processes, one after the other:
 *
 * 1. every test file under the test permissions of `deno.json` (`-P`);
 * 2. `adapters_ioredis_test.ts` and `ioredis_ha_test.ts` alone: ioredis's `debug` dependency lists the
 *    whole environment when imported, which needs `--allow-env` without a
 *    list, so that process gets it on top of `deno.json`'s, but with an
 *    environment cleared down to what Deno itself needs (no `.env`, nothing
 *    else of the caller's).
 *
 * Of their reports it prints a line per test file as it finishes (so a long
 * run shows it is moving), the failures (with the failing tests' output),
 * the figures tests report with {@link FIGURES}, anything else unexpected,
 * and one closing summary in `deno test`'s format, which CI reads. Extra
 * arguments go to both processes, e.g. `deno task test --filter crash`.
 *
 * @module
 */
import { FIGURES } from "./helpers/figures.ts";

/** The test permissions, kept once in `deno.json` (`"test": { "permissions" }`). */
const PERMISSIONS = "-P";
const IOREDIS_FILES = [
  "tests/integration/adapters_ioredis_test.ts",
  "tests/integration/ha/ioredis_ha_test.ts",
];
/** What the ioredis process keeps of the environment: Deno's own needs. */
const IOREDIS_ENV = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "NO_COLOR"];

/** The counts of one `deno test` summary line. */
interface Totals {
  passed: number;
  steps: number;
  failed: number;
}

// deno-lint-ignore no-control-regex -- ANSI colour codes are control bytes
const plain = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, "");
const SUMMARY =
  /^(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed/;
const RESULT = /^\s*.* \.\.\. (ok|FAILED|ignored)(?: \(.*\))?$/;
const FILE = /^running \d+ tests? from \.\/(.+)$/;

/** The test file being run, and its top-level results so far. */
interface FileProgress {
  path: string;
  started: number;
  passed: number;
  failed: number;
}
let filesDone = 0;

/**
 * Prints one line for a finished test file. Its words differ from the
 * summary's `ok | N passed` form, which CI looks for.
 */
function fileDone(file: FileProgress | undefined): void {
  if (file === undefined) return;
  filesDone++;
  const seconds = ((performance.now() - file.started) / 1000).toFixed(1);
  const mark = file.failed > 0 ? "✗" : "✓";
  const failed = file.failed > 0 ? `, ${file.failed} failed` : "";
  console.log(
    `${mark} ${
      String(filesDone).padStart(3)
    }  ${file.path}: ${file.passed} passed${failed} (${seconds} s)`,
  );
}
const STARTED = /^\s*.* \.\.\.$/;

/**
 * Runs one `deno test` and prints what matters of its report as it comes.
 *
 * @returns Its totals (zero when it printed no summary) and whether it
 *   exited cleanly.
 */
async function run(
  args: string[],
  env?: Record<string, string>,
): Promise<{ totals: Totals; success: boolean }> {
  const child = new Deno.Command("deno", {
    args: ["test", ...args],
    stdout: "piped",
    stderr: "piped",
    ...(env === undefined ? {} : { clearEnv: true, env }),
  }).spawn();
  const totals: Totals = { passed: 0, steps: 0, failed: 0 };
  let output: string[] | undefined;
  let buffered: string[] = [];
  let tail = false; // in the ERRORS and FAILURES sections: print everything
  let file: FileProgress | undefined;
  const onLine = (line: string) => {
    const text = plain(line);
    const starting = text.match(FILE);
    if (starting !== null) {
      fileDone(file);
      file = {
        path: starting[1],
        started: performance.now(),
        passed: 0,
        failed: 0,
      };
      return;
    }
    const summary = text.match(SUMMARY);
    if (summary !== null) {
      fileDone(file);
      file = undefined;
      totals.passed += Number(summary[1]);
      totals.steps += Number(summary[2] ?? 0);
      totals.failed += Number(summary[3]);
      tail = false;
      return;
    }
    if (tail) return console.log(line);
    if (/^ (ERRORS|FAILURES) $/.test(text)) {
      tail = true;
      return console.log(line);
    }
    if (/^-+ (post-test )?output -+$/.test(text)) return void (output = []);
    if (/^-+ (post-test )?output end -+$/.test(text)) {
      buffered.push(...output ?? []);
      return void (output = undefined);
    }
    if (output !== undefined) return void output.push(line);
    const result = text.match(RESULT);
    if (result !== null) {
      // Steps are indented; a file counts its top-level tests only.
      if (file !== undefined && !/^\s/.test(text)) {
        if (result[1] === "ok") file.passed++;
        if (result[1] === "FAILED") file.failed++;
      }
      if (result[1] === "FAILED") {
        console.log(line);
        for (const kept of buffered) console.log(kept);
      } else {
        for (const kept of buffered) {
          if (plain(kept).startsWith(FIGURES)) console.log(kept);
        }
      }
      buffered = [];
      return;
    }
    if (
      text.trim() === "" || STARTED.test(text) || /^Check /.test(text) ||
      /^Warning The `--env-file` flag was used/.test(text) ||
      // Deno 2.9 calls permissions in deno.json experimental, on every run.
      /^Warning Permissions in the config file is an experimental/.test(text)
    ) return;
    console.log(line);
  };
  await Promise.all([child.stdout, child.stderr].map(async (stream) => {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf("\n")) !== -1) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
    if (pending !== "") onLine(pending);
  }));
  const { success } = await child.status;
  return { totals, success };
}

const started = performance.now();
const extra = Deno.args;
console.log(
  "deno test: type-checking, then a line per test file as it finishes…",
);
const suite = await run([
  "--env-file",
  PERMISSIONS,
  `--ignore=${IOREDIS_FILES.join(",")}`,
  ...extra,
  "tests/",
]);
const ioredisEnv = Object.fromEntries(
  IOREDIS_ENV.flatMap((name) => {
    const value = Deno.env.get(name);
    return value === undefined ? [] : [[name, value]];
  }),
);
const ioredis = await run(
  [
    PERMISSIONS,
    "--allow-env",
    ...extra,
    ...IOREDIS_FILES,
  ],
  ioredisEnv,
);

const passed = suite.totals.passed + ioredis.totals.passed;
const steps = suite.totals.steps + ioredis.totals.steps;
const failed = suite.totals.failed + ioredis.totals.failed;
const success = suite.success && ioredis.success;
const seconds = Math.round((performance.now() - started) / 1000);
const time = seconds >= 60
  ? `${Math.floor(seconds / 60)}m${seconds % 60}s`
  : `${seconds}s`;
console.log(
  `\n${success ? "ok" : "FAILED"} | ${passed} passed${
    steps > 0 ? ` (${steps} steps)` : ""
  } | ${failed} failed (${time})`,
);
Deno.exit(success ? 0 : 1);
