/**
 * hawkBit's `*` wildcard, matched in time linear in pattern plus text. A regular expression
 * built from the pattern backtracks: `*a*a*a*a*b` against 256 characters took a minute (issue 15).
 *
 * With `*` as the only metacharacter, matching the pieces between stars left to right, each at its
 * first occurrence after the previous one, is exact: an earlier occurrence never leaves less room
 * for the rest. Each piece is found with Knuth-Morris-Pratt, whose scan never moves back, so the
 * text is read once in all.
 */

/**
 * Case folding one code point at a time: `toLowerCase` on a whole string folds a final sigma
 * differently depending on what follows it, and a pattern's pieces are cut out of their context.
 */
export function foldCase(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range, on purpose
  if (!/[^\u0000-\u007f]/.test(text)) return text.toLowerCase();
  let out = '';
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

/** Whether `text` matches `pattern`, where `*` stands for any run of characters; case-sensitive. */
export function matchWildcard(pattern: string, text: string): boolean {
  return wildcardSteps(pattern, text).matched;
}

/** Whether `text` matches `pattern` ignoring case, as hawkBit compares text. */
export function matchWildcardIgnoringCase(pattern: string, text: string): boolean {
  return matchWildcard(foldCase(pattern), foldCase(text));
}

/**
 * The matcher itself, also counting the character comparisons it makes, so that a test can show
 * the work stays within a constant times `pattern.length + text.length`.
 */
export function wildcardSteps(pattern: string, text: string): { matched: boolean; steps: number } {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return { matched: pattern === text, steps: text.length };
  const first = pieces[0] ?? '';
  const last = pieces[pieces.length - 1] ?? '';
  let steps = first.length + last.length;
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last))
    return { matched: false, steps };
  let from = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] ?? '';
    if (piece === '') continue;
    const found = indexOfKmp(text, piece, from, end);
    steps += found.steps;
    if (found.index < 0) return { matched: false, steps };
    from = found.index + piece.length;
  }
  return { matched: true, steps };
}

/** First index >= `from` where `needle` lies wholly before `end` in `text`, or -1. */
function indexOfKmp(
  text: string,
  needle: string,
  from: number,
  end: number,
): { index: number; steps: number } {
  const fail = new Int32Array(needle.length);
  let steps = 0;
  for (let i = 1, k = 0; i < needle.length; i++) {
    while (k > 0 && needle[i] !== needle[k]) {
      k = fail[k - 1] ?? 0;
      steps++;
    }
    steps++;
    if (needle[i] === needle[k]) k++;
    fail[i] = k;
  }
  for (let i = from, k = 0; i < end; i++) {
    while (k > 0 && text[i] !== needle[k]) {
      k = fail[k - 1] ?? 0;
      steps++;
    }
    steps++;
    if (text[i] === needle[k]) k++;
    if (k === needle.length) return { index: i - needle.length + 1, steps };
  }
  return { index: -1, steps };
}
