import type { Account, ChatId } from "@cliq-mirror/core"
import { type MembersObservation, MirrorQueries, MirrorWriter } from "@cliq-mirror/db"
import { Effect } from "effect"
import { Upstream } from "../Upstream.js"

export const MEMBERS = "members"

/** Member lists fetched per pass at most; a pass that fetched this many is followed soon by the next. */
export const MEMBERS_BATCH = 20

/** Passes in a row that may skip the query when nothing changed; the next one queries anyway. */
const SKIPS_BEFORE_QUERY = 11

/**
 * Fetches member lists of new chats and of chats whose participant count moved, most recent activity first, paced
 * by the 20/min members bucket. Returns how many lists were fetched. A pass after one that found nothing to fetch
 * costs no query while no page of the account appended events since (`MirrorWriter.changesOf`); every
 * `SKIPS_BEFORE_QUERY + 1`th pass queries anyway, for changes written by other means (command effects).
 */
export const membersPass = (account: Account) => {
  let idleAt: number | undefined
  let skipped = 0
  return Effect.gen(function* () {
    const writer = yield* MirrorWriter
    const queries = yield* MirrorQueries
    const upstream = yield* Upstream
    const changes = writer.changesOf(account.id)
    if (idleAt === changes && skipped < SKIPS_BEFORE_QUERY) {
      skipped++
      return 0
    }
    skipped = 0
    // `since`: a command's add or remove settled while the lists are fetched is newer than the list fetched before
    // it; that chat keeps it (and is fetched again when its count still differs). PageWrite's `Seen`.
    const { chatIds, since } = yield* queries.needingMembers(account.id, MEMBERS_BATCH)
    idleAt = chatIds.length === 0 ? changes : undefined
    // The lists fetched are written together, in one transaction: also those fetched before a call failed.
    const lists: Array<MembersObservation> = []
    const gone: Array<string> = []
    const write = Effect.suspend(() =>
      lists.length === 0 && gone.length === 0
        ? Effect.void
        : Effect.asVoid(
            writer.apply({
              accountId: account.id,
              members: lists,
              gone,
              ...(lists.length > 0 ? { cursor: { stream: MEMBERS, status: "idle", success: true } } : {})
            })
          )
    )
    for (const chatId of chatIds) {
      const fetchedAt = new Date()
      const members = yield* upstream
        .call(account, "listMembers", undefined, client => client.listMembers(chatId as ChatId))
        .pipe(
          Effect.map(list =>
            list.map(m => ({ user_id: m.user_id, name: m.name ?? null, email_id: m.email_id ?? null }))
          ),
          Effect.catchTag("CliqPermanent", e =>
            e.code === "chat_access_denied" ? Effect.succeed(undefined) : Effect.fail(e)
          ),
          Effect.tapError(() => write)
        )
      if (members === undefined) gone.push(chatId)
      else lists.push({ chatId, members, fetchedAt, since })
    }
    yield* write
    return chatIds.length
  }).pipe(Effect.withSpan("Members.pass"))
}
