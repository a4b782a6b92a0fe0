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
  return secrets;
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
 * short.
 *
 * @param text Text from a server or peer.
 * @param secrets What to hide.
 * @returns The text without them.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  for (const secret of secrets) {
    if (secret.length <= PREFIX) {
      text = text.replaceAll(secret, "***");
      continue;
    }
    const start = secret.slice(0, PREFIX);
    let from = text.indexOf(start);
    while (from !== -1) {
      let end = from + PREFIX;
      while (
        end < text.length && end - from < secret.length &&
        text[end] === secret[end - from]
      ) {
        end++;
      }
      text = text.slice(0, from) + "***" + text.slice(end);
      from = text.indexOf(start, from + 3);
    }
  }
  return text;
}
