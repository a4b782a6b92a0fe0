/**
 * Redis glob patterns, as `SCAN … MATCH` reads them: `*` any run of
 * characters, `?` any one, `[abc]`, `[^abc]` and `[a-z]` one of a set, and
 * `\` before a character to take it as is.
 *
 * @module
 */

/**
 * Escapes every glob character of a literal, so that it matches only itself:
 * what a key prefix needs before a pattern is appended to it.
 */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, "\\$&");
}

/** A test of whole strings against a glob pattern, with Redis's rules. */
export function globMatcher(pattern: string): (text: string) => boolean {
  const chars = Array.from(pattern);
  let source = "";
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i];
    if (char === "*") source += "[^]*";
    else if (char === "?") source += "[^]";
    else if (char === "\\" && i + 1 < chars.length) {
      source += literal(chars[++i]);
    } else if (char === "[") {
      const end = chars.indexOf("]", i + 2);
      if (end === -1) {
        source += literal(char);
        continue;
      }
      let set = chars.slice(i + 1, end);
      const negated = set[0] === "^";
      if (negated) set = set.slice(1);
      source += `[${negated ? "^" : ""}${
        set.map((c) => c === "-" ? "-" : c.replace(/[\\\]\[^-]/g, "\\$&"))
          .join("")
      }]`;
      i = end;
    } else source += literal(char);
  }
  const regex = new RegExp(`^${source}$`, "u");
  return (text) => regex.test(text);
}

function literal(char: string): string {
  return char.replace(/[\\^$.|?*+()[\]{}\/]/g, "\\$&");
}
