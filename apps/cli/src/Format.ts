/** Output of rows as an aligned table, CSV (RFC 4180) or JSON lines: pure, so the CLI's shapes are tested alone. */
export type Cell = string | number | boolean | null | undefined

const text = (v: Cell): string => (v === null || v === undefined ? "" : String(v))

export const csvCell = (v: Cell): string => {
  const s = text(v)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export const csvLine = (cells: ReadonlyArray<Cell>): string => cells.map(csvCell).join(",")

export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<Cell>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => text(r[i]).replace(/\s+/g, " ").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd()
  return [line(headers), ...rows.map(r => line(r.map(c => text(c).replace(/\s+/g, " "))))].join("\n")
}

/** A progress bar of `width` cells for a share from 0 to 1. */
export const bar = (share: number, width = 30): string => {
  const filled = Math.round(Math.min(1, Math.max(0, share)) * width)
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`
}

export const progressLine = (view: {
  readonly counts: Readonly<Record<string, number>>
  readonly progress: number
  readonly eta: string | null
}): string => {
  const total = Object.values(view.counts).reduce((a, b) => a + b, 0)
  const counts = Object.entries(view.counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}=${n}`)
    .join(" ")
  const pct = Math.floor(view.progress * 100)
  return `${pct}% of ${total} ${counts}${view.eta === null ? "" : ` eta ${view.eta}`}`
}
