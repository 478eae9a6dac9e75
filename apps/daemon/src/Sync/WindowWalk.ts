/**
 * Order-independent, resumable walk over a time-filtered list with no continuation token (docs/upstream.md#list-walk).
 *
 * A range is `(lo, hi)` with both bounds exclusive (hi null = open). A page shorter than the limit proves its range
 * complete. A full page sorted newest-first proves complete everything above its oldest item's second (bodies are
 * whole seconds while filters are milliseconds, hence the +1 s re-cover); oldest-first symmetrically. Anything else
 * (unsorted, no progress) bisects the range in milliseconds, down to a single one; a full page all inside one second
 * splits its range around that second. The direction is read off each page (docs/upstream.md#list-assumptions): an upstream that
 * returned an arbitrary subset in an order that happens to look sorted could not be told apart, which for full pages
 * spanning several seconds is not a realistic failure.
 */
export type Range = readonly [lo: number, hi: number | null]

export interface WalkState {
  /** Ranges still to read; the last one is read next (the newest first). */
  readonly pending: ReadonlyArray<Range>
  /** Highest upstream key seen in this walk. */
  readonly maxKey: number | null
  /** Ids seen at exactly `maxKey`; bounded. */
  readonly boundaryIds: ReadonlyArray<string>
  readonly pages: number
  readonly items: number
  /** Single milliseconds that held a full page: only a reconciliation walk can prove them complete. */
  readonly overflows: number
}

export interface KeyedItem {
  readonly id: string
  /** Upstream time of the filter key in epoch ms, as coarse as the body gives it; null when absent. */
  readonly key: number | null
}

export const BOUNDARY_MAX = 1000

/** A far-future bound for bisecting an open range; keys are upstream times, so this never cuts real data. */
const OPEN_HI_MARGIN = 366 * 24 * 3600_000

export const startWalk = (lo: number, hi: number | null = null): WalkState => ({
  pending: [[lo, hi]],
  maxKey: null,
  boundaryIds: [],
  pages: 0,
  items: 0,
  overflows: 0
})

export const isDone = (s: WalkState): boolean => s.pending.length === 0

export const nextRange = (s: WalkState): Range | undefined => s.pending[s.pending.length - 1]

const granularity = (keys: ReadonlyArray<number>) => (keys.every(k => k % 1000 === 0) ? 1000 : 1)

const order = (keys: ReadonlyArray<number>): "desc" | "asc" | "none" => {
  let desc = true
  let asc = true
  for (let i = 1; i < keys.length; i++) {
    if (keys[i]! > keys[i - 1]!) desc = false
    if (keys[i]! < keys[i - 1]!) asc = false
  }
  return desc ? "desc" : asc ? "asc" : "none"
}

const bisect = ([lo, hi]: Range, keys: ReadonlyArray<number>): { ranges: Array<Range>; overflow: boolean } => {
  const top = hi ?? Math.max(lo + 2, ...keys) + OPEN_HI_MARGIN
  if (top - lo <= 2) return { ranges: [], overflow: true }
  const mid = Math.floor((lo + top) / 2)
  // (lo, mid + 1) holds `mid` itself; pushed first so that the newer half is read first.
  return {
    ranges: [
      [lo, mid + 1],
      [mid, hi]
    ],
    overflow: false
  }
}

/** What the page just read implies for the rest of its range. */
export const advance = (s: WalkState, items: ReadonlyArray<KeyedItem>, limit: number): WalkState => {
  const range = nextRange(s)
  if (!range) return s
  const rest = s.pending.slice(0, -1)
  const keys = items.map(i => i.key).filter((k): k is number => k !== null)
  let maxKey = s.maxKey
  let boundaryIds = s.boundaryIds
  for (const item of items) {
    if (item.key === null) continue
    if (maxKey === null || item.key > maxKey) {
      maxKey = item.key
      boundaryIds = [item.id]
    } else if (item.key === maxKey && boundaryIds.length < BOUNDARY_MAX && !boundaryIds.includes(item.id)) {
      boundaryIds = [...boundaryIds, item.id]
    }
  }
  const base = { ...s, maxKey, boundaryIds, pages: s.pages + 1, items: s.items + items.length }
  if (items.length < limit) return { ...base, pending: rest }

  const [lo, hi] = range
  const g = granularity(keys)
  const direction = keys.length === items.length ? order(keys) : "none"
  const first = keys[0]
  if (direction === "desc" && first !== undefined && keys.every(k => k === first)) {
    // One body second for the whole page: it may be the newest or the oldest slice, so cut the range around that
    // second and read each part on its own (the second itself is then bisected in milliseconds if still full).
    const parts: Array<Range> = [
      [lo, first],
      [first - 1, first + g],
      [first + g - 1, hi]
    ]
    const valid = parts
      .map(([a, b]): Range => [Math.max(a, lo), b === null ? hi : hi === null ? b : Math.min(b, hi)])
      .filter(([a, b]) => b === null || b - a > 1)
    if (valid.length > 1) return { ...base, pending: [...rest, ...valid] }
  } else if (direction === "desc") {
    const nextHi = Math.floor(Math.min(...keys) / g) * g + g
    if ((hi === null || nextHi < hi) && nextHi > lo + 1) return { ...base, pending: [...rest, [lo, nextHi]] }
  } else if (direction === "asc") {
    const nextLo = Math.floor(Math.max(...keys) / g) * g - 1
    if (nextLo > lo && (hi === null || nextLo < hi - 1)) return { ...base, pending: [...rest, [nextLo, hi]] }
  }
  const split = bisect(range, keys)
  return {
    ...base,
    pending: [...rest, ...split.ranges],
    overflows: base.overflows + (split.overflow ? 1 : 0)
  }
}
