import { type Account, Limits } from "@cliq-mirror/core"
import { MirrorQueries, MirrorWriter, SyncStateRepo } from "@cliq-mirror/db"
import { Effect, Fiber } from "effect"
import { Upstream } from "../Upstream.js"
import { searchKey, sortPage } from "./ChatItems.js"
import { makeBackfillProgress } from "./Progress.js"
import { HIDDEN } from "./StateFlags.js"
import { readWalk } from "./WalkCursor.js"
import {
  advance,
  BOUNDARY_MAX,
  isDone,
  type KeyedItem,
  nextRange,
  type Range,
  startWalk,
  type WalkState
} from "./WindowWalk.js"

export const INCREMENTAL = "incremental"

const mergeBoundary = (
  previous: { readonly highWaterMs: number | null; readonly boundaryIds: ReadonlyArray<string> },
  walk: WalkState
) => {
  if (walk.maxKey === null || (previous.highWaterMs !== null && walk.maxKey < previous.highWaterMs)) {
    return { highWaterMs: previous.highWaterMs, boundaryIds: previous.boundaryIds }
  }
  if (walk.maxKey === previous.highWaterMs) {
    const ids = [...new Set([...previous.boundaryIds, ...walk.boundaryIds])].slice(0, BOUNDARY_MAX)
    return { highWaterMs: walk.maxKey, boundaryIds: ids }
  }
  return { highWaterMs: walk.maxKey, boundaryIds: walk.boundaryIds }
}

type Mark = { readonly highWaterMs: number | null; readonly boundaryIds: ReadonlyArray<string> }

/**
 * A page's chats for the hidden pass, split by the last mark: `moved`, past it (their time moved since the last
 * walk), and `overlap`, at or below it — seen by an earlier walk unless the search index showed them late.
 */
export const splitByMark = (keyed: ReadonlyArray<KeyedItem>, mark: Mark) => {
  const seen = new Set(mark.boundaryIds)
  const moved: Array<string> = []
  const overlap: Array<KeyedItem & { readonly key: number }> = []
  for (const k of keyed) {
    if (k.id === "" || k.key === null) continue
    if (mark.highWaterMs === null || k.key > mark.highWaterMs || (k.key === mark.highWaterMs && !seen.has(k.id))) {
      moved.push(k.id)
    } else if (!seen.has(k.id)) overlap.push({ id: k.id, key: k.key })
  }
  return { moved, overlap }
}

/**
 * Of the chats at or below the mark, those the search index showed late (docs/upstream.md#list-walk, the overlap):
 * not mirrored, or mirrored with an older time. Their hidden states (mute, close, …) are as unknown as a moved chat's.
 */
export const indexedLate = (
  overlap: ReadonlyArray<{ readonly id: string; readonly key: number }>,
  mirrored: ReadonlyMap<string, number | null>
) =>
  overlap.flatMap(k => {
    const ms = mirrored.get(k.id)
    return ms === undefined || ms === null || ms < k.key ? [k.id] : []
  })

/**
 * One incremental pass: search over `(high-water − overlap, ∞)`, newest first, one transaction per page. The
 * high-water mark is an upstream time and moves only when the whole window has been read; an interrupted walk
 * resumes from its stored ranges. The first pass (no mark yet) is the backfill.
 */
export const incrementalPass = Effect.fn("Incremental.pass")(function* (account: Account, overlapMs: number) {
  const repo = yield* SyncStateRepo
  const writer = yield* MirrorWriter
  const queries = yield* MirrorQueries
  const upstream = yield* Upstream
  const state = yield* repo.read(account.id, INCREMENTAL)
  const backfill = state.highWaterMs === null
  let walk: WalkState =
    readWalk(state.cursor) ?? startWalk(state.highWaterMs === null ? 0 : Math.max(0, state.highWaterMs - overlapMs))
  const progress = makeBackfillProgress(account, upstream.budget)
  const fetch = ([lo, hi]: Range) =>
    upstream.call(account, "searchChats", INCREMENTAL, client =>
      client.searchChats({
        modified_after: lo,
        ...(hi === null ? {} : { modified_before: hi }),
        limit: Limits.searchLimitMax,
        sort_by: "recent"
      })
    )
  // The next range is known before the current page is written, so its call runs while the page commits: the same
  // calls in the same order (budget and cursor unchanged), without waiting for the database in between. Pages are
  // written in order, each one locked and diffed while the one before commits (MirrorWriter.inOrder).
  const pages = yield* writer.inOrder
  let next = isDone(walk) ? undefined : yield* Effect.fork(fetch(nextRange(walk)!))
  let committed: Effect.Effect<void> = Effect.void
  while (next) {
    const page = yield* Fiber.join(next)
    const sorted = sortPage(page, searchKey)
    // Chats whose time moved past the last mark, and those below it the index showed late: their hidden states (muted,
    // closed, …) are looked up next (hiddenPass). Read before the page is written, so the mirror still shows the old time.
    if (!backfill) {
      const { moved, overlap } = splitByMark(sorted.keyed, state)
      const late =
        overlap.length === 0
          ? []
          : indexedLate(
              overlap,
              yield* queries.modifiedTimes(
                account.id,
                overlap.map(k => k.id)
              )
            )
      yield* repo.enqueue(account.id, HIDDEN, [...moved, ...late])
    }
    walk = advance(walk, sorted.keyed, Limits.searchLimitMax)
    const done = isDone(walk)
    next = done ? undefined : yield* Effect.fork(fetch(nextRange(walk)!))
    yield* pages.write({
      accountId: account.id,
      observed: sorted.observed,
      rejected: sorted.rejected,
      cursor: done
        ? { stream: INCREMENTAL, cursor: {}, status: "idle", success: true, ...mergeBoundary(state, walk) }
        : { stream: INCREMENTAL, cursor: { walk }, status: backfill ? "backfilling" : "polling" }
    })
    // The previous page has committed once `write` returns.
    yield* committed
    if (backfill) {
      const at = walk
      committed = progress(at, sorted.observed)
    }
    // A fresh mirror has no statistics yet; without them the per-page row lookup scans the whole account.
    if (backfill && walk.pages === 1) yield* pages.flush.pipe(Effect.zipRight(writer.analyze))
  }
  yield* pages.flush
  yield* committed
  if (walk.overflows > 0) {
    yield* Effect.logWarning("a single millisecond held more chats than a page; reconciliation will cover it", {
      overflows: walk.overflows
    })
  }
  return walk
})
