import type postgres from "postgres"
import type { ChatInsert, ChatRow } from "./ChatRows.js"

const COLUMNS = [
  ["account_id", "accountId"],
  ["chat_id", "chatId"],
  ["name", "name"],
  ["chat_type", "chatType"],
  ["participant_count", "participantCount"],
  ["creator_id", "creatorId"],
  ["creator_name", "creatorName"],
  ["created_time", "createdTime"],
  ["last_modified_time", "lastModifiedTime"],
  ["last_message_time", "lastMessageTime"],
  ["pinned", "pinned"],
  ["removed", "removed"],
  ["unread_message_count", "unreadMessageCount"],
  ["unread_time", "unreadTime"],
  ["last_message_info", "lastMessageInfo"],
  ["previous_titles", "previousTitles"],
  ["thread_message_id", "threadMessageId"],
  ["parent_chat_id", "parentChatId"],
  ["muted", "muted"],
  ["closed", "closed"],
  ["drafts", "drafts"],
  ["joined", "joined"],
  ["members_fetched_at", "membersFetchedAt"],
  ["synced_at", "syncedAt"],
  ["raw", "raw"],
  ["last_seq", "lastSeq"]
] as const satisfies ReadonlyArray<readonly [string, keyof ChatRow]>

const TYPES: Record<string, string> = {
  participant_count: "integer",
  created_time: "timestamptz",
  last_modified_time: "timestamptz",
  last_message_time: "timestamptz",
  pinned: "boolean",
  removed: "boolean",
  unread_message_count: "integer",
  unread_time: "timestamptz",
  last_message_info: "jsonb",
  muted: "boolean",
  closed: "boolean",
  drafts: "boolean",
  joined: "boolean",
  members_fetched_at: "timestamptz",
  synced_at: "timestamptz",
  raw: "jsonb",
  last_seq: "bigint"
}

const SELECT_LIST = COLUMNS.map(([c, k]) => `${c} as "${k}"`).join(", ")
const RECORD_DEF = COLUMNS.map(([c]) => `${c} ${TYPES[c] ?? "text"}`).join(", ")
const COLUMN_LIST = COLUMNS.map(([c]) => c).join(", ")
const UPDATE_LIST = COLUMNS.filter(([c]) => c !== "account_id" && c !== "chat_id")
  .map(([c]) => `${c} = excluded.${c}`)
  .join(", ")

const toRow = (r: Record<string, unknown>): ChatRow => ({ ...(r as ChatRow), lastSeq: Number(r.lastSeq) })

/** Namespace of the per-chat write locks among the project's advisory locks. */
const CHAT_LOCK_NAMESPACE = 727_274_004

/**
 * Locks the page's chats so that concurrent writers (streams, command worker, other replicas) diff against one
 * committed state. Row locks cannot cover a chat nobody has stored yet, so an advisory lock per chat id comes first,
 * always taken in id order so that two writers cannot deadlock.
 */
export const selectChatsForUpdate = async (
  tx: postgres.TransactionSql,
  accountId: string,
  chatIds: ReadonlyArray<string>
): Promise<Array<ChatRow>> => {
  if (chatIds.length === 0) return []
  await tx.unsafe(
    `select pg_advisory_xact_lock(${CHAT_LOCK_NAMESPACE}, hashtext($1 || ':' || id))
     from (select distinct unnest($2::text[]) as id order by 1) ids`,
    [accountId, chatIds as Array<string>]
  )
  const rows = await tx.unsafe(
    `select ${SELECT_LIST} from chats where account_id = $1 and chat_id = any($2) order by chat_id for update`,
    [accountId, chatIds as Array<string>]
  )
  return rows.map(toRow)
}

export const selectChats = async (sql: postgres.Sql, accountId: string | null): Promise<Array<ChatRow>> => {
  const rows =
    accountId === null
      ? await sql.unsafe(`select ${SELECT_LIST} from chats order by account_id, chat_id`)
      : await sql.unsafe(`select ${SELECT_LIST} from chats where account_id = $1 order by chat_id`, [accountId])
  return rows.map(toRow)
}

/** One statement for the whole page: rows travel as a single JSON parameter. */
export const chatsUpsertSql = async (tx: postgres.TransactionSql | postgres.Sql, rows: ReadonlyArray<ChatInsert>) => {
  if (rows.length === 0) return
  const json = JSON.stringify(rows.map(r => Object.fromEntries(COLUMNS.map(([c, k]) => [c, r[k] ?? null]))))
  await tx.unsafe(
    `insert into chats (${COLUMN_LIST})
     select ${COLUMN_LIST} from json_to_recordset($1::text::json) as r(${RECORD_DEF})
     on conflict (account_id, chat_id) do update set ${UPDATE_LIST}`,
    [json]
  )
}
