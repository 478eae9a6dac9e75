import { getTableColumns } from "drizzle-orm"
import type postgres from "postgres"
import type { ChatInsert, ChatRow } from "./ChatRows.js"
import { insertEventsSql, type TxSql } from "./EventAppend.js"
import { chats } from "./schema.js"

/**
 * The columns of `chats` as the drizzle table declares them (generated columns left out: the database computes them),
 * each with its SQL name, its key in `ChatRow` and its SQL type.
 */
const COLUMNS = Object.entries(getTableColumns(chats))
  .filter(([, column]) => column.generated === undefined)
  .map(([key, column]) => [column.name, key as keyof ChatRow, column.getSQLType()] as const)

const SELECT_LIST = COLUMNS.map(([c, k]) => `${c} as "${k}"`).join(", ")
const COLUMN_LIST = COLUMNS.map(([c]) => c).join(", ")
const UPDATE_LIST = COLUMNS.filter(([c]) => c !== "account_id" && c !== "chat_id")
  .map(([c]) => `${c} = excluded.${c}`)
  .join(", ")
const indexOf = (column: string) => COLUMNS.findIndex(([c]) => c === column)
const CHAT_ID_INDEX = indexOf("chat_id")
const RAW_INDEX = indexOf("raw")
const LAST_MESSAGE_INDEX = indexOf("last_message_info")
/** Index of `raw_from` in a row of `chatRowsJson`: right after the columns; then whether `last_message_info` is raw's. */
const RAW_FROM_INDEX = COLUMNS.length
const LAST_MESSAGE_FROM_RAW_INDEX = COLUMNS.length + 1

/** Column `i` of type `type` read from `r`, one row of `chatRowsJson` (a jsonb array): a JSON null is SQL NULL. */
const fromRow = (type: string, i: number) =>
  type === "jsonb" ? `nullif(r -> ${i}, 'null'::jsonb)` : type === "text" ? `r ->> ${i}` : `(r ->> ${i})::${type}`

const FROM_ROW = COLUMNS.map(([, , type], i) => fromRow(type, i)).join(", ")

const toRow = (r: Record<string, unknown>): ChatRow => ({ ...(r as ChatRow), lastSeq: Number(r.lastSeq) })

/** Namespace of the per-chat write locks among the project's advisory locks. */
const CHAT_LOCK_NAMESPACE = 727_274_004

/**
 * Locks the page's chats so that concurrent writers (streams, command worker, other replicas) diff against one
 * committed state. Row locks cannot cover a chat nobody has stored yet, so an advisory lock per chat id comes first,
 * always taken in id order so that two writers cannot deadlock.
 */
export const selectChatsForUpdate = async (
  tx: TxSql,
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

/**
 * The rows as one JSON array of arrays, the columns in `COLUMNS` order (read positionally from a `jsonb` parameter:
 * parsed once, no column names repeated per row), then `raw_from`: a row whose chat is in `rawFrom` leaves its `raw`
 * out and names the event of the same statement whose payload carries it; its `last_message_info`, when that is the
 * raw object's own (the same object, as decoding leaves it), is left out too and flagged to be read from there.
 */
export const chatRowsJson = (
  rows: ReadonlyArray<ChatInsert>,
  rawFrom: ReadonlyMap<string, string> = new Map()
): string =>
  JSON.stringify(
    rows.map(r => {
      const from = rawFrom.get(r.chatId)
      const row: Array<unknown> = COLUMNS.map(([, k]) => r[k])
      if (from === undefined) {
        row.push(null, false)
        return row
      }
      const lastMessageFromRaw =
        r.lastMessageInfo != null && r.lastMessageInfo === (r.raw as { last_message_info?: unknown }).last_message_info
      row[RAW_INDEX] = null
      if (lastMessageFromRaw) row[LAST_MESSAGE_INDEX] = null
      row.push(from, lastMessageFromRaw)
      return row
    })
  )

const UPSERT = (from: string) => `
  insert into chats (${COLUMN_LIST}) ${from}
  on conflict (account_id, chat_id) do update set ${UPDATE_LIST}`

/** One statement for the whole page: rows travel as a single JSON parameter. */
export const chatsUpsertSql = async (tx: TxSql, rows: ReadonlyArray<ChatInsert>) => {
  if (rows.length === 0) return
  await tx.unsafe(UPSERT(`select ${FROM_ROW} from jsonb_array_elements($1::text::jsonb) r`), [chatRowsJson(rows)])
}

const FROM_APPENDED = `select ${COLUMNS.map(([c, , type], i) =>
  c === "last_seq"
    ? `coalesce(a.seq, ${fromRow(type, i)})`
    : c === "raw"
      ? `coalesce(${fromRow(type, i)}, e.payload -> 'raw')`
      : c === "last_message_info"
        ? `case when (r ->> ${LAST_MESSAGE_FROM_RAW_INDEX})::boolean then e.payload -> 'raw' -> 'last_message_info' else ${fromRow(type, i)} end`
        : fromRow(type, i)
).join(", ")}
  from jsonb_array_elements($2::text::jsonb) r
  left join (select chat_id, max(seq) as seq from appended group by chat_id) a on a.chat_id = r ->> ${CHAT_ID_INDEX}
  left join appended e on e.dedupe_key = r ->> ${RAW_FROM_INDEX}`

/**
 * A page's events ($1, `eventRowsJson`) and its changed chats ($2, `chatRowsJson`) in one statement: each chat's
 * `last_seq` becomes the seq of its newest event appended here (else the row's own), and a row sent without `raw`
 * takes it from the payload of the event its `raw_from` names (the upstream object crosses the wire and is parsed
 * once). Answers how many events were appended, and how many of them were chat events (dedupe keys `chat:…`).
 */
export const appendAndProjectSql = async (tx: TxSql, eventsJson: string, chatsJson: string) => {
  // Sent at once (not on the first `await`), so statements issued one after another reach the server in that order.
  const [row] = await tx
    .unsafe<Array<{ appended: number; chat_events: number }>>(
      `with appended as (${insertEventsSql("$1")} returning seq, chat_id, dedupe_key, payload),
     projected as (${UPSERT(FROM_APPENDED)})
     select count(*)::int as appended, (count(*) filter (where dedupe_key like 'chat:%'))::int as chat_events
     from appended`,
      [eventsJson, chatsJson]
    )
    .execute()
  return { appended: row!.appended, chatEvents: row!.chat_events }
}
