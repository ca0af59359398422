// Small pure helpers for turning repeated measurements into the numbers the report shows.

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `numerator / denominator`, or null when either is missing or the denominator is not positive. */
export function ratio(numerator: number | null | undefined, denominator: number | null | undefined): number | null {
  if (numerator == null || denominator == null || !Number.isFinite(numerator) || !Number.isFinite(denominator) || denominator <= 0) return null;
  return numerator / denominator;
}

/** A counter's growth over a window: what it counted per request, or null with no requests. */
export function perRequest(countDelta: number, requests: number): number | null {
  return requests > 0 ? countDelta / requests : null;
}

export function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
