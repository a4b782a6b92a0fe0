/**
 * Keeping credentials out of errors: a server may echo a command's arguments
 * in its reply (`unknown command 'AUTH', with args beginning with: 'pw'`), and
 * a peer that is not Redis may send anything back.
 *
 * @module
 */

/** Shorter secrets are replaced whole; longer ones also where only their start appears. */
const PREFIX = 8;

/**
 * The credentials of a URL that must never appear in an error: the password,
 * and the user name when it looks like a secret (a token rather than a word).
 *
 * @param username The URL's user name, if any.
 * @param password The URL's password, if any.
 * @returns The secrets, possibly none.
 */
export function secretsOf(
  username: string | undefined,
  password: string | undefined,
): string[] {
  const secrets: string[] = [];
  if (password !== undefined && password !== "") secrets.push(password);
  if (username !== undefined && secretLike(username)) secrets.push(username);
  return [...new Set(secrets.flatMap(formsOf))];
}

/**
 * Every form a secret may take in a message: as it is, or with CR and LF made
 * spaces (as Redis writes arguments it echoes in an error reply); each of
 * those also JSON-escaped (as a message quotes a reply), percent-encoded (as
 * in a URL) and byte-escaped (as a message quotes what a peer that is not
 * Redis sent).
 */
function formsOf(secret: string): string[] {
  return [secret, secret.replaceAll(/[\r\n]/g, " ")].flatMap((form) => [
    form,
    JSON.stringify(form).slice(1, -1),
    encodeURIComponent(form),
    escapeBytes(encoder.encode(form)),
  ]);
}

const encoder = new TextEncoder();

/**
 * Bytes as printable text: printable ASCII as it is, every other byte as
 * `\xNN`. Messages quote what a peer sent this way.
 *
 * @param bytes What the peer sent.
 * @returns The text.
 */
export function escapeBytes(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) {
    text += b >= 0x20 && b < 0x7f
      ? String.fromCharCode(b)
      : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return text;
}

/**
 * Whether a user name may be a secret: one that mixes letters and digits, or
 * is long, looks like a token rather than a word.
 *
 * @param name The user name.
 * @returns `true` when it should be hidden like a password.
 */
export function secretLike(name: string): boolean {
  return name.length >= 16 ||
    (name.length >= 6 && /\d/.test(name) && /[a-z]/i.test(name));
}

/**
 * Replaces every secret in `text` with `***`, and for a long secret also every
 * run of at least its first 8 characters, since Redis cuts echoed arguments
 * short. Where several secrets (or forms of one) match at the same place, the
 * longest match goes: the forms of one secret share a start and differ later
 * (a newline made a space), and a shorter match would leave the rest showing.
 *
 * @param text Text from a server or peer.
 * @param secrets What to hide, in every form (see `secretsOf`).
 * @returns The text without them.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = "";
  let from = 0;
  while (true) {
    let at = -1;
    for (const secret of secrets) {
      const i = text.indexOf(startOf(secret), from);
      if (i !== -1 && (at === -1 || i < at)) at = i;
    }
    if (at === -1) return from === 0 ? text : out + text.slice(from);
    let end = at + 1;
    for (const secret of secrets) {
      const start = startOf(secret);
      if (!text.startsWith(start, at)) continue;
      let e = at + start.length;
      while (
        e < text.length && e - at < secret.length &&
        text[e] === secret[e - at]
      ) {
        e++;
      }
      if (e > end) end = e;
    }
    out += text.slice(from, at) + "***";
    from = end;
  }
}

/** What must match for a secret to be hidden: all of a short one, the start of a long one. */
function startOf(secret: string): string {
  return secret.length <= PREFIX ? secret : secret.slice(0, PREFIX);
}
