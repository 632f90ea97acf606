function opaque(tag: string): string {
  const t = tag.trim();
  const strong = t.startsWith('W/') ? t.slice(2) : t;
  return strong.length >= 2 && strong.startsWith('"') && strong.endsWith('"')
    ? strong.slice(1, -1)
    : strong;
}

/**
 * Whether an `If-None-Match` or `If-Match` list names `etag` (quoted or bare): `*` matches
 * anything, `W/` is compared weakly, as both headers allow for these representations.
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header === etag) return true;
  const wanted = opaque(etag);
  for (const tag of header.split(',')) {
    const value = opaque(tag);
    if (value === '*' || value === wanted) return true;
  }
  return false;
}
