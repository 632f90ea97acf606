export function when(ms: number | undefined): string {
  return ms === undefined ? '—' : new Date(ms).toLocaleString();
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
