import type { ChatFlag } from "@cliq-mirror/core"
import { Effect } from "effect"
import { Database } from "./Database.js"

const FLAG_COLUMNS: Record<ChatFlag, string> = {
  muted: "muted",
  closed: "closed",
  drafts: "drafts",
  joined: "joined",
  pinned: "pinned"
}

/**
 * The newest seq of the event log: every event committed after it is read has a higher one (EventAppend). Read with
 * what a pass is about to look at upstream, it is that pass's `since` (PageWrite's `Seen`).
 */
const LOG_HEAD = "(select coalesce(max(seq), 0) from events)"

/** The questions the daemon's streams ask of the mirror. */
export class MirrorQueries extends Effect.Service<MirrorQueries>()("@cliq-mirror/db/MirrorQueries", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    const eventHead = database.use(async (_, sql) =>
      Number((await sql<Array<{ head: string }>>`select ${sql.unsafe(LOG_HEAD)} as head`)[0]!.head)
    )
    /** What a flag's settlement needs, in one statement: the account's chats that have the flag now, and the log's head. */
    const flagState = (accountId: string, flag: ChatFlag) =>
      database.use(async (_, sql) => {
        const [row] = await sql.unsafe<Array<{ flagged: Array<string>; head: string }>>(
          `select array(select chat_id from chats where account_id = $1 and ${FLAG_COLUMNS[flag]}) as flagged,
             ${LOG_HEAD} as head`,
          [accountId]
        )
        return { flagged: row!.flagged, head: Number(row!.head) }
      })
    /**
     * Chats not confirmed by any observation since `since` (candidates for a removal probe), in chat id order after
     * `afterChatId`, so a caller walks them once even when a probe cannot confirm one. Chats already recorded removed
     * are left out: search does not list them, and when one comes back search shows it again.
     */
    const unconfirmedSince = (accountId: string, since: Date, afterChatId: string, limit: number) =>
      database.use(async (_, sql) =>
        (
          await sql<Array<{ chat_id: string }>>`
            select chat_id from chats
            where account_id = ${accountId} and not removed and synced_at < ${since.toISOString()}::timestamptz
              and chat_id > ${afterChatId}
            order by chat_id limit ${limit}`
        ).map(r => r.chat_id)
      )
    /**
     * Of these chats, those the mirror holds, and the log's head read with them (`LOG_HEAD`), at no extra round trip.
     */
    const mirrored = (accountId: string, chatIds: ReadonlyArray<string>) =>
      database.use(async (_, sql) => {
        const [row] = await sql<Array<{ chat_ids: Array<string>; head: string }>>`
          select array(select chat_id from chats
                       where account_id = ${accountId} and chat_id = any(${chatIds as Array<string>})) as chat_ids,
                 ${sql.unsafe(LOG_HEAD)} as head`
        return { chatIds: row!.chat_ids, since: Number(row!.head) }
      })
    /**
     * The mirrored `last_modified_time` (epoch ms; null when the mirror has none) of each of these chats the mirror
     * holds: the incremental stream's test for a chat the search index showed late (`Incremental.ts`, `indexedLate`).
     */
    const modifiedTimes = (accountId: string, chatIds: ReadonlyArray<string>) =>
      chatIds.length === 0
        ? Effect.succeed(new Map<string, number | null>())
        : database.use(async (_, sql) => {
            const rows = await sql<Array<{ chat_id: string; ms: string | null }>>`
              select chat_id, (extract(epoch from last_modified_time) * 1000)::bigint as ms from chats
              where account_id = ${accountId} and chat_id = any(${chatIds as Array<string>})`
            return new Map(rows.map(r => [r.chat_id, r.ms === null ? null : Number(r.ms)]))
          })
    /**
     * New chats and chats whose participant count moved since their members were fetched, most recent first; with the
     * log's head read with them (`since` for the lists fetched next, as in `mirrored`).
     */
    const needingMembers = (accountId: string, limit: number) =>
      database.use(async (_, sql) => {
        const [row] = await sql<Array<{ chat_ids: Array<string>; head: string }>>`
          select array(
            select c.chat_id from chats c
            where c.account_id = ${accountId} and not c.removed
              and (c.members_fetched_at is null or (
                -- refetched only after the chat changed since, so a count that never matches cannot loop
                c.members_fetched_at < c.last_modified_time and c.participant_count is distinct from (
                  select count(*)::int from chat_members m where m.account_id = c.account_id and m.chat_id = c.chat_id)))
            order by c.members_fetched_at nulls first, c.last_modified_time desc nulls last
            limit ${limit}) as chat_ids,
            ${sql.unsafe(LOG_HEAD)} as head`
        return { chatIds: row!.chat_ids, since: Number(row!.head) }
      })
    const rejectedIds = (accountId: string, limit: number) =>
      database.use(async (_, sql) =>
        (
          await sql<Array<{ chat_id: string }>>`
            select chat_id from rejected_items where account_id = ${accountId} order by last_seen_at limit ${limit}`
        ).map(r => r.chat_id)
      )
    return {
      eventHead: eventHead.pipe(Effect.withSpan("MirrorQueries.eventHead")),
      flagState: Effect.fn("MirrorQueries.flagState")(flagState),
      unconfirmedSince: Effect.fn("MirrorQueries.unconfirmedSince")(unconfirmedSince),
      needingMembers: Effect.fn("MirrorQueries.needingMembers")(needingMembers),
      mirrored: Effect.fn("MirrorQueries.mirrored")(mirrored),
      modifiedTimes: Effect.fn("MirrorQueries.modifiedTimes")(modifiedTimes),
      rejectedIds: Effect.fn("MirrorQueries.rejectedIds")(rejectedIds)
    } as const
  })
}) {}
