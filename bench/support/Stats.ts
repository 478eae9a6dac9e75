/** Nearest-rank percentile of an ascending array. */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

export const median = (sorted: ReadonlyArray<number>): number => {
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const fixed = (x: number, digits = 1): string => x.toFixed(digits)

/** 12345.6 → "12,346". */
export const grouped = (x: number): string => Math.round(x).toLocaleString("en-US")

export const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`

export const table = (header: ReadonlyArray<string>, align: string, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  [
    `| ${header.join(" | ")} |`,
    `|${align
      .split("")
      .map(a => (a === "r" ? "---:" : "---"))
      .join("|")}|`
  ]
    .concat(rows.map(r => `| ${r.join(" | ")} |`))
    .join("\n")
