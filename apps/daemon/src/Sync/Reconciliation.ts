import { type Account, type ChatId, Limits, observedFields } from "@cliq-mirror/core"
import { MirrorQueries, MirrorWriter, SyncStateRepo } from "@cliq-mirror/db"
import { Effect, Schema } from "effect"
import { Upstream } from "../Upstream.js"
import { searchKey, sortPage } from "./ChatItems.js"
import { readWalk } from "./WalkCursor.js"
import { advance, isDone, nextRange, startWalk, type WalkState } from "./WindowWalk.js"

export const RECONCILE = "reconcile"
const PROBE_BATCH = 50

/** Codes by which the upstream says this user cannot see the chat any more (unknown = no access: docs/upstream.md#sim-unknown-chat). */
const NOT_ACCESSIBLE = new Set(["chat_access_denied", "invalid_request"])

/**
 * Probes chats by id: a readable one is observed like any other (its `removed` flag included), an unreadable one is
 * recorded removed. Used for chats a complete walk did not confirm, and to retry items that failed to decode.
 */
export const probeChats = Effect.fn("Reconciliation.probe")(function* (
  account: Account,
  chatIds: ReadonlyArray<string>
) {
  const writer = yield* MirrorWriter
  const upstream = yield* Upstream
  for (const chatId of chatIds) {
    const outcome = yield* upstream
      .call(account, "getChat", RECONCILE, client => client.getChat(chatId as ChatId, { include: "last_message_info" }))
      .pipe(
        Effect.map(found => ({ found }) as const),
        Effect.catchTag("CliqPermanent", e =>
          NOT_ACCESSIBLE.has(e.code) ? Effect.succeed({ gone: true } as const) : Effect.fail(e)
        ),
        Effect.catchTag("CliqDecodeError", e => Effect.succeed({ invalid: e } as const))
      )
    if ("found" in outcome) {
      yield* writer.apply({
        accountId: account.id,
        observed: [{ raw: outcome.found.raw, chat: observedFields(outcome.found.chat, outcome.found.raw) }]
      })
    } else if ("gone" in outcome) {
      yield* writer.apply({ accountId: account.id, gone: [chatId] })
    } else {
      // Recorded like a malformed list item: visible in the feed, retried by id on the next reconciliation.
      yield* writer.apply({
        accountId: account.id,
        rejected: [
          {
            raw: { sample: outcome.invalid.sample },
            chatId,
            path: outcome.invalid.path,
            message: outcome.invalid.message
          }
        ]
      })
    }
  }
})

const StartedAt = Schema.Struct({ startedAt: Schema.Number })

/**
 * A continuous, low-priority full walk on the reconciliation share of the search budget. Only a *complete* walk may
 * conclude that a chat vanished: the chats it did not confirm are then probed one by one.
 */
export const reconcilePass = Effect.fn("Reconciliation.pass")(function* (account: Account) {
  const repo = yield* SyncStateRepo
  const writer = yield* MirrorWriter
  const queries = yield* MirrorQueries
  const upstream = yield* Upstream
  const state = yield* repo.read(account.id, RECONCILE)
  const resumed = readWalk(state.cursor)
  const startedAt = resumed ? Schema.decodeUnknownSync(StartedAt)(state.cursor).startedAt : Date.now()
  let walk: WalkState = resumed ?? startWalk(0)
  while (!isDone(walk)) {
    const [lo, hi] = nextRange(walk)!
    const page = yield* upstream.call(account, "searchChats", RECONCILE, client =>
      client.searchChats({
        modified_after: lo,
        ...(hi === null ? {} : { modified_before: hi }),
        limit: Limits.searchLimitMax,
        sort_by: "recent"
      })
    )
    const sorted = sortPage(page, searchKey)
    walk = advance(walk, sorted.keyed, Limits.searchLimitMax)
    yield* writer.apply({
      accountId: account.id,
      observed: sorted.observed,
      rejected: sorted.rejected,
      cursor: { stream: RECONCILE, cursor: isDone(walk) ? { startedAt } : { walk, startedAt }, status: "walking" }
    })
  }
  let probed = 0
  let after = ""
  while (true) {
    const stale = yield* queries.unconfirmedSince(account.id, new Date(startedAt), after, PROBE_BATCH)
    if (stale.length === 0) break
    yield* probeChats(account, stale)
    probed += stale.length
    after = stale[stale.length - 1]!
  }
  const rejected = yield* queries.rejectedIds(account.id, PROBE_BATCH)
  yield* probeChats(account, rejected)
  yield* writer.apply({
    accountId: account.id,
    cursor: { stream: RECONCILE, cursor: {}, status: "idle", success: true }
  })
  return { chats: walk.items, probed }
})
