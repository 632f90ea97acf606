/** `application/json`, `application/hal+json` or any `application/*+json`, parameters ignored. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  if (header === 'application/json' || header === 'application/hal+json') return true;
  const type = header.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}
