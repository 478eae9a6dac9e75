import { type Account, type ChatFlag, Limits, type ListChatsParams } from "@cliq-mirror/core"
import { MirrorQueries, MirrorWriter } from "@cliq-mirror/db"
import { Effect } from "effect"
import { Upstream } from "../Upstream.js"
import { listingKey, sortPage } from "./ChatItems.js"
import { advance, isDone, nextRange, startWalk } from "./WindowWalk.js"

/** States that are not fields of the chat object; only a filtered listing reveals them (CLIQ_API.md §6.4). */
export const LISTED_FLAGS = ["muted", "closed", "drafts", "joined"] as const satisfies ReadonlyArray<ChatFlag>

/** Walks one filtered listing to the end, applying what it shows; returns the ids it listed. */
const walkListing = Effect.fn("StateFlags.walkListing")(function* (account: Account, filter: ListChatsParams) {
  const writer = yield* MirrorWriter
  const upstream = yield* Upstream
  let walk = startWalk(0)
  const present = new Set<string>()
  while (!isDone(walk)) {
    const [lo, hi] = nextRange(walk)!
    const page = yield* upstream.call(account, "listChats", undefined, client =>
      client.listChats({
        ...filter,
        limit: Limits.listLimitMax,
        ...(lo > 0 ? { modified_after: lo } : {}),
        ...(hi === null ? {} : { modified_before: hi })
      })
    )
    const sorted = sortPage(page, listingKey)
    for (const o of sorted.observed) present.add(o.chat.chatId)
    walk = advance(walk, sorted.keyed, Limits.listLimitMax)
    if (sorted.observed.length > 0 || sorted.rejected.length > 0) {
      yield* writer.apply({ accountId: account.id, observed: sorted.observed, rejected: sorted.rejected })
    }
  }
  return present
})

/**
 * Walks `GET /chats?<flag>=true` completely; chats present get the flag, mirrored chats absent from the complete
 * listing lose it. The default listing leaves closed chats out, so for the other flags the closed ones are listed
 * too (`<flag>=true&closed=true`). An incomplete walk (failure mid-way) changes no flag.
 */
export const flagPass = Effect.fn("StateFlags.pass")(function* (account: Account, flag: ChatFlag) {
  const writer = yield* MirrorWriter
  const queries = yield* MirrorQueries
  const present = yield* walkListing(account, { [flag]: true })
  if (flag !== "closed") for (const id of yield* walkListing(account, { [flag]: true, closed: true })) present.add(id)
  const flagged = yield* queries.flaggedIds(account.id, flag)
  const cleared = flagged.filter(id => !present.has(id))
  yield* writer.apply({
    accountId: account.id,
    flags: [
      { flag, value: true, chatIds: [...present] },
      { flag, value: false, chatIds: cleared }
    ],
    cursor: { stream: `state:${flag}`, cursor: { count: present.size }, status: "idle", success: true }
  })
  return present.size
})

export const statePass = Effect.fn("StateFlags.statePass")(function* (account: Account) {
  for (const flag of LISTED_FLAGS) yield* flagPass(account, flag)
})
