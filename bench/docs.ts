/**
 * `deno task bench:docs`: writes the table of the last full benchmark run
 * (`bench/results/latest.json`) into `docs/performance.md`, between its
 * markers, so the page shows what was measured and nothing typed by hand.
 *
 * With `--check` it writes nothing and fails when the page is out of date,
 * which `deno task check` uses.
 *
 * @module
 */
import { formatTable, type Summary } from "./_table.ts";

/** What `bench/main.ts` writes after a full run (the fields used here). */
interface Results {
  date: string;
  deno: string;
  cores: number;
  seconds: number;
  repeat: number;
  summaries: Summary[];
  /** The machine, e.g. "2-core AMD EPYC VM, 24 GiB, Linux 6.18", if recorded. */
  machine?: string;
  /** Versions of what ran beside Deno, e.g. `{ "redis-server": "7.0.15" }`, if recorded. */
  versions?: Record<string, string>;
}

const START =
  "<!-- bench:table:start (deno task bench:docs writes this part) -->";
const END = "<!-- bench:table:end -->";
const RESULTS = new URL("./results/latest.json", import.meta.url);
const PAGE = new URL("../docs/performance.md", import.meta.url);

/** The generated part of the page: when and how it was measured, the table, its notes. */
function render(results: Results): string {
  const runs = `${results.repeat} run${results.repeat === 1 ? "" : "s"}`;
  return [
    `Measured on ${
      results.date.slice(0, 10)
    } with \`deno task bench\`: ${results.summaries.length} scenarios, ${runs} of the whole table in ${
      results.seconds.toFixed(0)
    } s on ${results.cores} cores${
      results.machine ? ` (${results.machine})` : ""
    }, Deno ${results.deno}${
      Object.entries(results.versions ?? {}).map(([name, version]) =>
        `, ${name} ${version}`
      ).join("")
    }.`,
    "",
    formatTable(results.summaries),
    "",
    "Each figure is the median over the runs of each run's median of 3 or more samples; a target is met only if the worse end of its ratio's range meets it.",
  ].join("\n");
}

/** Formats markdown as `deno fmt` does, so the page passes `deno fmt --check`. */
async function format(markdown: string): Promise<string> {
  const child = new Deno.Command("deno", {
    args: ["fmt", "--ext=md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(markdown));
  await writer.close();
  const { success, stdout } = await child.output();
  if (!success) {
    throw new Error("deno fmt could not format docs/performance.md");
  }
  return new TextDecoder().decode(stdout);
}

const results: Results = JSON.parse(await Deno.readTextFile(RESULTS));
const page = await Deno.readTextFile(PAGE);
const start = page.indexOf(START);
const end = page.indexOf(END);
if (start === -1 || end < start) {
  throw new Error(
    `docs/performance.md lacks the markers "${START}" and "${END}"; put them where the table goes.`,
  );
}
const updated = await format(
  `${page.slice(0, start + START.length)}\n\n${render(results)}\n\n${
    page.slice(end)
  }`,
);
if (Deno.args.includes("--check")) {
  if (updated !== page) {
    console.error(
      "docs/performance.md does not show bench/results/latest.json: run `deno task bench:docs`.",
    );
    Deno.exit(1);
  }
} else if (updated !== page) {
  await Deno.writeTextFile(PAGE, updated);
  console.log(
    "docs/performance.md: table written from bench/results/latest.json",
  );
} else {
  console.log("docs/performance.md already shows bench/results/latest.json");
}
