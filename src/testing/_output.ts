/**
 * Reading a child process's output line by line, for the test helpers that
 * wait on what a server prints.
 *
 * @module
 */

/**
 * Reads `child`'s stdout and stderr to their end, calling `onLine` for every
 * line of either (a last line without a newline included). Reading to the end
 * also keeps the child from blocking on a full pipe.
 *
 * @param child A process spawned with `stdout` and `stderr` piped.
 * @param onLine Called with each line, without its newline.
 */
export async function forEachLine(
  child: Deno.ChildProcess,
  onLine: (line: string) => void,
): Promise<void> {
  await Promise.all([child.stdout, child.stderr].map(async (stream) => {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      let nl;
      while ((nl = pending.indexOf("\n")) !== -1) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
    if (pending !== "") onLine(pending);
  }));
}
