import type { Account, ChatId } from "@cliq-mirror/core"
import { MirrorQueries, MirrorWriter } from "@cliq-mirror/db"
import { Effect } from "effect"
import { Upstream } from "../Upstream.js"

const BATCH = 20

/**
 * Fetches member lists of new chats and of chats whose participant count moved, most recent activity first, paced
 * by the 20/min members bucket. Returns how many lists were fetched.
 */
export const membersPass = Effect.fn("Members.pass")(function* (account: Account) {
  const writer = yield* MirrorWriter
  const queries = yield* MirrorQueries
  const upstream = yield* Upstream
  const chatIds = yield* queries.needingMembers(account.id, BATCH)
  for (const chatId of chatIds) {
    const fetchedAt = new Date()
    const members = yield* upstream
      .call(account, "listMembers", undefined, client => client.listMembers(chatId as ChatId))
      .pipe(
        Effect.map(list => list.map(m => ({ user_id: m.user_id, name: m.name ?? null, email_id: m.email_id ?? null }))),
        Effect.catchTag("CliqPermanent", e =>
          e.code === "chat_access_denied" ? Effect.succeed(undefined) : Effect.fail(e)
        )
      )
    if (members === undefined) {
      yield* writer.apply({ accountId: account.id, gone: [chatId] })
      continue
    }
    yield* writer.apply({
      accountId: account.id,
      members: { chatId, members, fetchedAt },
      cursor: { stream: "members", status: "idle", success: true }
    })
  }
  return chatIds.length
})
