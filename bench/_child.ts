/**
 * The processes the benchmarks start: a `deno run` of a benchmark script,
 * and `redis-benchmark` with its CSV read back.
 *
 * @module
 */

/**
 * Runs `deno run --quiet FLAGS script ARGS` and returns its standard output;
 * throws with its standard error when it fails.
 */
export async function runDeno(
  script: URL,
  flags: string[],
  args: string[],
  env?: Record<string, string>,
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["run", "--quiet", ...flags, script.pathname, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `${script.pathname} failed: ${new TextDecoder().decode(stderr)}`,
    );
  }
  return new TextDecoder().decode(stdout);
}

/** `redis-benchmark` against 127.0.0.1:`port`; returns requests per second. */
export async function redisBenchmark(
  port: number,
  args: string[],
): Promise<number> {
  const { stdout, code } = await new Deno.Command("redis-benchmark", {
    args: ["-h", "127.0.0.1", "-p", String(port), "--csv", ...args],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (code !== 0) {
    throw new Error(`redis-benchmark ${args.join(" ")} on ${port} failed`);
  }
  // CSV: "test","rps",...; the last line holds the figures.
  const line = new TextDecoder().decode(stdout).trim().split("\n").pop()!;
  return Number(JSON.parse(`[${line}]`)[1]);
}
