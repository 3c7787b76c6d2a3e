/** Percentiles and the "median (min–max)" summaries the report prints. */

/** The p-th percentile (0–100) of the values, nearest-rank on the sorted values; NaN when there are none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Median, min and max of repeated measurements of one figure. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  count: number;
}

export function spread(values: number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN, count: 0 };
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], count: sorted.length };
}

/** Pairwise differences a[i] − b[i] (a gateway run minus the direct run next to it). */
export function differences(a: number[], b: number[]): number[] {
  return a.slice(0, Math.min(a.length, b.length)).map((v, i) => v - b[i]);
}

/** `1.23 (1.10–1.40)`, or just `1.23` for a single measurement; `–` when there is none. */
export function formatSpread(s: Spread, digits: number, unit = ""): string {
  if (s.count === 0) return "–";
  const f = (v: number) => fixed(v, digits);
  const u = unit ? ` ${unit}` : "";
  if (s.count === 1 || s.min === s.max) return `${f(s.median)}${u}`;
  return `${f(s.median)}${u} (${f(s.min)}–${f(s.max)})`;
}

/** A number with a fixed count of decimals and thousands separators (`12,345.6`); `-0.00` shows as `0.00`. */
export function fixed(v: number, digits: number): string {
  if (!Number.isFinite(v)) return "–";
  const text = v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}
