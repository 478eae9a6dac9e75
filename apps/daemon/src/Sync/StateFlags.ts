import { type Account, type ChatFlag, Limits, type ListChatsParams } from "@cliq-mirror/core"
import {
  type FlagObservation,
  MirrorQueries,
  MirrorWriter,
  type ObservedChat,
  type RejectedChat,
  SyncStateRepo
} from "@cliq-mirror/db"
import { Effect } from "effect"
import { Upstream } from "../Upstream.js"
import { listingKey, sortPage } from "./ChatItems.js"
import { advance, isDone, nextRange, startWalk, type WalkState } from "./WindowWalk.js"

export const STATE = "state"
export const HIDDEN = "hidden"

/**
 * States that only a filtered listing reveals (docs/upstream.md), plus `pinned`, a field of the chat object whose
 * changes do not always move the chat's time.
 */
export const LISTED_FLAGS = ["muted", "closed", "drafts", "joined", "pinned"] as const satisfies ReadonlyArray<ChatFlag>

/** The default listing leaves closed chats out: every flag but `closed` is also listed among the closed ones. */
const listingsOf = (flag: ChatFlag): ReadonlyArray<ListChatsParams> =>
  flag === "closed" ? [{ closed: true }] : [{ [flag]: true }, { [flag]: true, closed: true }]

interface Progress {
  flag: number
  listing: number
  walk: WalkState
  present: Set<string>
  /** What this flag's listings showed, not written yet: written with the flag's settlement (or once it grows large). */
  observed: Array<ObservedChat>
  rejected: Array<RejectedChat>
  /** The event log's head before the flag's first listing call: flags written after it are newer than the listings. */
  since: number | undefined
}

const startProgress = (): Progress => ({
  flag: 0,
  listing: 0,
  walk: startWalk(0),
  present: new Set(),
  observed: [],
  rejected: [],
  since: undefined
})

/** Observations held back for one write with the flag's settlement, at most this many (a large account's listings). */
const HELD_OBSERVATIONS = 500

/** Reads one page of a filtered listing and keeps what it shows; returns the walk after it. */
const listingPage = Effect.fn("StateFlags.listingPage")(function* (
  account: Account,
  filter: ListChatsParams,
  at: Progress
) {
  const writer = yield* MirrorWriter
  const upstream = yield* Upstream
  const [lo, hi] = nextRange(at.walk)!
  const page = yield* upstream.call(account, "listChats", STATE, client =>
    client.listChats({
      ...filter,
      limit: Limits.listLimitMax,
      ...(lo > 0 ? { modified_after: lo } : {}),
      ...(hi === null ? {} : { modified_before: hi })
    })
  )
  const sorted = sortPage(page, listingKey)
  for (const o of sorted.observed) at.present.add(o.chat.chatId)
  at.observed.push(...sorted.observed)
  at.rejected.push(...sorted.rejected)
  if (at.observed.length + at.rejected.length >= HELD_OBSERVATIONS) {
    yield* writer.apply({ accountId: account.id, observed: at.observed, rejected: at.rejected })
    at.observed = []
    at.rejected = []
  }
  return advance(at.walk, sorted.keyed, Limits.listLimitMax)
})

/**
 * What a flag's complete listings settle: chats present get the flag, mirrored chats absent lose it — except chats
 * whose flag another writer (a command's settlement, the hidden pass) changed after event `since`, read before the
 * listings began: that write is newer than what the listings saw (checked as the page commits: `Seen` in PageWrite).
 */
export const flagSettlement = (
  flag: ChatFlag,
  present: ReadonlySet<string>,
  flagged: ReadonlyArray<string>,
  since: number
): Array<FlagObservation> => [
  { flag, value: true, chatIds: [...present], since },
  { flag, value: false, chatIds: flagged.filter(id => !present.has(id)), since }
]

/**
 * Settles a flag from its complete listings (`flagSettlement`), written in one page with what the listings showed of
 * the chats themselves (a quiet page, no transaction, when nothing changed). The log's head read with the flagged
 * chats starts the next flag's window.
 */
const settleFlag = Effect.fn("StateFlags.settleFlag")(function* (
  account: Account,
  flag: ChatFlag,
  at: Progress,
  last: boolean
) {
  const writer = yield* MirrorWriter
  const queries = yield* MirrorQueries
  const state = yield* queries.flagState(account.id, flag)
  yield* writer.apply({
    accountId: account.id,
    observed: at.observed,
    rejected: at.rejected,
    flags: flagSettlement(flag, at.present, state.flagged, at.since ?? 0),
    cursor: last
      ? { stream: STATE, cursor: {}, status: "idle", success: true }
      : { stream: STATE, cursor: { settled: flag }, status: "listing" }
  })
  return state.head
})

/**
 * The backstop of hidden states: every flag's complete listings, one after the other. A failed call costs that call
 * (Upstream retries it) and, failing still, only the rest of the pass: the progress is kept, so the next run of the
 * same pass resumes at the page where it stopped. An incomplete listing changes no flag.
 */
export const statePass = (account: Account) => {
  let progress: Progress | undefined
  // The log's head read with the last settlement: where the next flag's window starts (an older start only widens it).
  let head: number | undefined
  return Effect.gen(function* () {
    progress ??= startProgress()
    const at = progress
    while (at.flag < LISTED_FLAGS.length) {
      const flag = LISTED_FLAGS[at.flag]!
      const listings = listingsOf(flag)
      at.since ??= head ?? (yield* (yield* MirrorQueries).eventHead)
      while (at.listing < listings.length) {
        while (!isDone(at.walk)) at.walk = yield* listingPage(account, listings[at.listing]!, at)
        at.listing++
        at.walk = startWalk(0)
      }
      head = yield* settleFlag(account, flag, at, at.flag === LISTED_FLAGS.length - 1)
      at.flag++
      at.listing = 0
      at.present = new Set()
      at.observed = []
      at.rejected = []
      at.since = undefined
    }
    progress = undefined
    // The next pass reads the head afresh: a head from before this pass's last settlement would also leave alone chats
    // whose flag changed before the next pass's listings began, which those listings see.
    head = undefined
  }).pipe(Effect.withSpan("StateFlags.statePass"))
}

// `pinned` is a field of the chat object: the incremental page that saw the chat move already carried it.
const TARGETED_FLAGS = ["muted", "drafts", "joined"] as const satisfies ReadonlyArray<ChatFlag>

/** One call listing which of `chatIds` (at most a page) have the filter's flags. */
const listedAmong = (account: Account, chatIds: ReadonlyArray<string>, filter: ListChatsParams) =>
  Effect.gen(function* () {
    const upstream = yield* Upstream
    const page = yield* upstream.call(account, "listChats", HIDDEN, client =>
      client.listChats({ ...filter, chat_ids: chatIds, limit: Limits.listLimitMax })
    )
    const wanted = new Set(chatIds)
    return new Set(sortPage(page, listingKey).observed.flatMap(o => (wanted.has(o.chat.chatId) ? [o.chat.chatId] : [])))
  })

/**
 * The hidden states of chats known to have changed, by targeted listings (`chat_ids` plus one flag, a page of ids per
 * call): `closed` first, then at once each other flag among the open ones and, only when some are closed, among those.
 * 4 calls per 100 chats, 7 when some of them are closed.
 */
export const targetedStates = Effect.fn("StateFlags.targeted")(function* (
  account: Account,
  chatIds: ReadonlyArray<string>,
  since: number
) {
  const writer = yield* MirrorWriter
  for (let i = 0; i < chatIds.length; i += Limits.listLimitMax) {
    const batch = chatIds.slice(i, i + Limits.listLimitMax)
    const closed = yield* listedAmong(account, batch, { closed: true })
    const open = batch.filter(id => !closed.has(id))
    const flags: Array<FlagObservation> = [
      { flag: "closed", value: true, chatIds: [...closed], since },
      { flag: "closed", value: false, chatIds: open, since }
    ]
    const none = Effect.succeed(new Set<string>())
    const listed = yield* Effect.forEach(
      TARGETED_FLAGS,
      flag =>
        Effect.all(
          [
            open.length > 0 ? listedAmong(account, open, { [flag]: true }) : none,
            closed.size > 0 ? listedAmong(account, [...closed], { [flag]: true, closed: true }) : none
          ],
          { concurrency: "unbounded" }
        ),
      { concurrency: "unbounded" }
    )
    TARGETED_FLAGS.forEach((flag, i) => {
      const has = new Set([...listed[i]![0], ...listed[i]![1]])
      flags.push(
        { flag, value: true, chatIds: [...has], since },
        { flag, value: false, chatIds: batch.filter(id => !has.has(id)), since }
      )
    })
    yield* writer.apply({ accountId: account.id, flags })
  }
  return chatIds.length
})

/**
 * Takes the chats the incremental stream saw move (queued in sync_state by `SyncStateRepo.enqueue`) and learns their
 * hidden states; the ids leave the queue only once applied, so a failure or a restart loses none. The incremental stream
 * queues a page's chats before the page commits: a chat not mirrored yet (its page still in flight) is neither listed
 * nor dequeued, and waits for the next pass; not mirrored at that one either (its item was rejected, say), it leaves
 * the queue, and the state pass covers it.
 */
export const hiddenPass = (account: Account) => {
  // The queued chats this pass found not mirrored, for the next pass.
  let unmirrored = new Set<string>()
  return Effect.gen(function* () {
    const repo = yield* SyncStateRepo
    const queries = yield* MirrorQueries
    // The ids with the queue's gen: the dequeue keeps any of them enqueued again while this pass lists (SyncStateRepo).
    const { ids, gen } = yield* repo.queued(account.id, HIDDEN)
    if (ids.length === 0) {
      unmirrored = new Set()
      return 0
    }
    // `since`: a flag some writer (a command's settlement) changes while the listings run is newer than they show.
    const { chatIds, since } = yield* queries.mirrored(account.id, ids)
    const mirrored = new Set(chatIds)
    const listed = ids.filter(id => mirrored.has(id))
    const absent = ids.filter(id => !mirrored.has(id))
    yield* targetedStates(account, listed, since)
    yield* repo.dequeue(account.id, HIDDEN, [...listed, ...absent.filter(id => unmirrored.has(id))], gen)
    unmirrored = new Set(absent.filter(id => !unmirrored.has(id)))
    return listed.length
  }).pipe(Effect.withSpan("StateFlags.hiddenPass"))
}
