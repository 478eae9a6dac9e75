import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { advance, isDone, type KeyedItem, nextRange, startWalk, type WalkState } from "../src/Sync/WindowWalk.js"

interface Row {
  readonly id: string
  readonly t: number
}

const second = (t: number) => Math.floor(t / 1000) * 1000

const monotone = (keys: ReadonlyArray<number>) =>
  keys.every((k, i) => i === 0 || k <= keys[i - 1]!) || keys.every((k, i) => i === 0 || k >= keys[i - 1]!)

/**
 * The upstream's list semantics (docs/upstream.md#list-semantics): exclusive bounds, truncation at the limit, whole-second bodies. "shuffled"
 * is an upstream that neither sorts nor picks the newest: any subset (here by id), in any order.
 */
const listing =
  (rows: ReadonlyArray<Row>, sort: "desc" | "asc" | "shuffled", misled: { value: boolean }) =>
  ([lo, hi]: readonly [number, number | null], limit: number): Array<KeyedItem> => {
    const inRange = rows.filter(r => r.t > lo && (hi === null || r.t < hi))
    const sorted = [...inRange].sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : -1))
    const ordered =
      sort === "desc" ? sorted : sort === "asc" ? sorted.reverse() : sorted.sort((a, b) => (a.id < b.id ? -1 : 1))
    const page = ordered.slice(0, limit).map(r => ({ id: r.id, key: second(r.t) }))
    const keys = page.map(p => p.key)
    // An unsorted full page that happens to look sorted cannot be told from a sorted one (see WindowWalk).
    if (sort === "shuffled" && page.length === limit && new Set(keys).size > 1 && monotone(keys)) misled.value = true
    return page
  }

const walk = (rows: ReadonlyArray<Row>, sort: "desc" | "asc" | "shuffled", limit: number, lo = 0) => {
  const misled = { value: false }
  const fetch = listing(rows, sort, misled)
  let state: WalkState = startWalk(lo)
  const seen = new Set<string>()
  let calls = 0
  while (!isDone(state)) {
    const items = fetch(nextRange(state)!, limit)
    calls++
    for (const i of items) seen.add(i.id)
    state = advance(state, items, limit)
    if (calls > 100_000) throw new Error("walk does not terminate")
  }
  return { seen, calls, state, misled: misled.value }
}

const rowsArb = FastCheck.array(
  FastCheck.record({
    // many rows share a second, some share a millisecond
    t: FastCheck.oneof(
      { arbitrary: FastCheck.integer({ min: 1_700_000_000_000, max: 1_700_000_009_999 }), weight: 30 },
      { arbitrary: FastCheck.constant(1_700_000_005_000), weight: 1 }
    )
  }),
  { minLength: 0, maxLength: 400 }
).map(rs => rs.map((r, i) => ({ id: `c${i}`, t: r.t })))

describe("WindowWalk", () => {
  it("sees every row whatever the order, the ties and the page size", () => {
    FastCheck.assert(
      FastCheck.property(
        rowsArb,
        FastCheck.constantFrom("desc" as const, "asc" as const, "shuffled" as const),
        FastCheck.integer({ min: 5, max: 60 }),
        (rows, sort, limit) => {
          const tooDense = new Map<number, number>()
          for (const r of rows) tooDense.set(r.t, (tooDense.get(r.t) ?? 0) + 1)
          // more rows in one millisecond than a page is the one case no listing can resolve
          FastCheck.pre([...tooDense.values()].every(n => n < limit))
          const { seen, state, misled } = walk(rows, sort, limit)
          FastCheck.pre(!misled)
          assert.strictEqual(seen.size, rows.length)
          assert.strictEqual(state.overflows, 0)
          if (rows.length > 0)
            assert.strictEqual(state.maxKey, Math.floor(Math.max(...rows.map(r => r.t)) / 1000) * 1000)
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("walks newest-first listings in about one call per page", () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: `c${i}`, t: 1_700_000_000_000 + i * 997 }))
    const { seen, calls } = walk(rows, "desc", 500)
    assert.strictEqual(seen.size, 5000)
    assert.isAtMost(calls, 11)
  })

  it("reports a single millisecond holding more than a page instead of looping", () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ id: `c${i}`, t: 1_700_000_000_123 }))
    const { state } = walk(rows, "desc", 10)
    assert.isAbove(state.overflows, 0)
  })

  it("keeps only the ids at the highest key, bounded", () => {
    const rows = [
      { id: "a", t: 1_700_000_001_100 },
      { id: "b", t: 1_700_000_001_900 },
      { id: "c", t: 1_700_000_000_500 }
    ]
    const { state } = walk(rows, "desc", 10)
    assert.strictEqual(state.maxKey, 1_700_000_001_000)
    assert.deepStrictEqual([...state.boundaryIds].sort(), ["a", "b"])
  })
})
