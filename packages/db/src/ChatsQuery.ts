import { and, asc, desc, eq, inArray, type SQL, sql } from "drizzle-orm"
import type { AnyPgColumn } from "drizzle-orm/pg-core"
import { Effect, Option } from "effect"
import { Database, type Db } from "./Database.js"
import { chatMembers, chats } from "./schema.js"

export interface ChatFilters {
  readonly accountId?: string | undefined
  readonly chatTypes?: ReadonlyArray<string> | undefined
  readonly pinned?: boolean | undefined
  readonly muted?: boolean | undefined
  readonly removed?: boolean | undefined
  readonly closed?: boolean | undefined
  readonly unread?: boolean | undefined
  readonly q?: string | undefined
  readonly modifiedAfter?: Date | undefined
  readonly modifiedBefore?: Date | undefined
}

export type ChatSort = "recent" | "name"

/** The sort key of one row: what a cursor carries. `account_id` breaks ties because chat ids repeat across accounts. */
export type ChatSortKey =
  | {
      readonly sort: "recent"
      readonly lastModifiedTime: Date | null
      readonly chatId: string
      readonly accountId: string
    }
  | { readonly sort: "name"; readonly name: string; readonly chatId: string; readonly accountId: string }

export interface ChatListRequest {
  readonly filters: ChatFilters
  readonly sort: ChatSort
  readonly limit: number
  readonly after?: ChatSortKey | undefined
}

/** The columns the API shows (not `raw`, `last_message_time` or `last_seq`): read nothing else on the hot path. */
export const chatColumns = {
  accountId: chats.accountId,
  chatId: chats.chatId,
  name: chats.name,
  chatType: chats.chatType,
  participantCount: chats.participantCount,
  creatorId: chats.creatorId,
  creatorName: chats.creatorName,
  createdTime: chats.createdTime,
  lastModifiedTime: chats.lastModifiedTime,
  pinned: chats.pinned,
  removed: chats.removed,
  unreadMessageCount: chats.unreadMessageCount,
  unreadTime: chats.unreadTime,
  lastMessageInfo: chats.lastMessageInfo,
  previousTitles: chats.previousTitles,
  threadMessageId: chats.threadMessageId,
  parentChatId: chats.parentChatId,
  muted: chats.muted,
  closed: chats.closed,
  drafts: chats.drafts,
  joined: chats.joined,
  membersFetchedAt: chats.membersFetchedAt,
  syncedAt: chats.syncedAt
}
const sortName = sql<string>`lower(${chats.name})`
// Nulls last in descending order, as one expression: the indexes are built on it (migrations/0009_read_indexes.sql),
// so the keyset is one row comparison whatever the key.
const recentKey = sql`coalesce(${chats.lastModifiedTime}, '-infinity'::timestamptz)`
const timeParam = (d: Date | null) =>
  d === null ? sql`'-infinity'::timestamptz` : sql`${d.toISOString()}::timestamptz`

export type MirroredChatRow = Pick<typeof chats.$inferSelect, keyof typeof chatColumns>

export interface ChatListPage {
  readonly rows: ReadonlyArray<MirroredChatRow>
  readonly next: Option.Option<ChatSortKey>
}

export interface ChatMembers {
  readonly accountId: string
  readonly fetchedAt: Date | null
  readonly members: ReadonlyArray<{
    readonly userId: string
    readonly name: string | null
    readonly emailId: string | null
  }>
}

export const escapeLike = (value: string): string => value.replace(/[\\%_]/g, c => `\\${c}`)

// Flags and the unread test are literals, not parameters, so that the partial indexes match every plan.
const flag = (column: AnyPgColumn, value: boolean): SQL => (value ? sql`${column}` : sql`not ${column}`)

export const filterConditions = (f: ChatFilters): Array<SQL> => {
  const conditions: Array<SQL | undefined> = [
    f.accountId === undefined ? undefined : eq(chats.accountId, f.accountId),
    f.chatTypes === undefined ? undefined : inArray(chats.chatType, [...f.chatTypes]),
    f.pinned === undefined ? undefined : flag(chats.pinned, f.pinned),
    f.muted === undefined ? undefined : flag(chats.muted, f.muted),
    f.removed === undefined ? undefined : flag(chats.removed, f.removed),
    f.closed === undefined ? undefined : flag(chats.closed, f.closed),
    f.unread === undefined
      ? undefined
      : f.unread
        ? sql`${chats.unreadMessageCount} > 0`
        : sql`${chats.unreadMessageCount} = 0`,
    f.q === undefined || f.q === ""
      ? undefined
      : sql`lower(${chats.name}) like '%' || lower(${escapeLike(f.q)}) || '%' escape '\\'`,
    f.modifiedAfter === undefined ? undefined : sql`${recentKey} > ${timeParam(f.modifiedAfter)}`,
    f.modifiedBefore === undefined
      ? undefined
      : sql`${recentKey} < ${timeParam(f.modifiedBefore)} and ${chats.lastModifiedTime} is not null`
  ]
  return conditions.filter((c): c is SQL => c !== undefined)
}

// Keyset predicates are the ORDER BY as one row comparison, so rows that keep their sort key are neither skipped nor
// repeated however many rows are inserted or updated between pages, and an index range starts at the cursor.
// With one account the account is no part of the key, so the comparison spans exactly that account's index.
const afterKey = (key: ChatSortKey, oneAccount: boolean): SQL => {
  const [columns, values] =
    key.sort === "name"
      ? [sql`${sortName}, ${chats.chatId}`, sql`${key.name}, ${key.chatId}`]
      : [sql`${recentKey}, ${chats.chatId}`, sql`${timeParam(key.lastModifiedTime)}, ${key.chatId}`]
  const op = sql.raw(key.sort === "name" ? ">" : "<")
  return oneAccount
    ? sql`(${columns}) ${op} (${values})`
    : sql`(${columns}, ${chats.accountId}) ${op} (${values}, ${key.accountId})`
}

const orderFor = (sort: ChatSort): Array<SQL> =>
  sort === "name"
    ? [asc(sortName), asc(chats.chatId), asc(chats.accountId)]
    : [desc(recentKey), desc(chats.chatId), desc(chats.accountId)]

const keyOf = (sort: ChatSort, row: MirroredChatRow & { readonly sortName: string }): ChatSortKey =>
  sort === "name"
    ? { sort, name: row.sortName, chatId: row.chatId, accountId: row.accountId }
    : { sort, lastModifiedTime: row.lastModifiedTime, chatId: row.chatId, accountId: row.accountId }

// The read routes' statements are prepared (postgres.js keeps one per text and connection): one round trip each, no
// parse or plan per request. Their methods are untraced: `Effect.fn` builds a span and captures a stack per call, and
// nothing exports traces.
export class ChatsQuery extends Effect.Service<ChatsQuery>()("@cliq-mirror/db/ChatsQuery", {
  effect: Effect.gen(function* () {
    const database = yield* Database

    const list = Effect.fnUntraced(function* (request: ChatListRequest) {
      const conditions = filterConditions(request.filters)
      if (request.after !== undefined) {
        conditions.push(afterKey(request.after, request.filters.accountId !== undefined))
      }
      const rows = yield* database.use(db =>
        db
          .select({ ...chatColumns, sortName })
          .from(chats)
          .where(and(...conditions))
          .orderBy(...orderFor(request.sort))
          .limit(request.limit + 1)
          .prepare("chats_list")
          .execute()
      )
      const page = rows.slice(0, request.limit)
      const last = page[page.length - 1]
      const next =
        rows.length > request.limit && last !== undefined ? Option.some(keyOf(request.sort, last)) : Option.none()
      return { rows: page.map(({ sortName: _, ...row }) => row), next } satisfies ChatListPage
    })

    // Built once: a lookup by id runs its prepared statement with no query building per request.
    const byId = <F extends Record<string, unknown>>(fields: F & Parameters<Db["select"]>[0], name: string) => {
      const query = (withAccount: boolean) =>
        database.db
          .select(fields)
          .from(chats)
          .where(
            and(
              eq(chats.chatId, sql.placeholder("chatId")),
              withAccount ? eq(chats.accountId, sql.placeholder("accountId")) : undefined
            )
          )
          .orderBy(asc(chats.accountId))
          .limit(1)
          .prepare(withAccount ? `${name}_of_account` : name)
      const [anyAccount, ofAccount] = [query(false), query(true)]
      return (chatId: string, accountId: string | undefined) =>
        database.use(() =>
          accountId === undefined ? anyAccount.execute({ chatId }) : ofAccount.execute({ chatId, accountId })
        )
    }
    const chatById = byId(chatColumns, "chats_get")
    const locate = byId({ accountId: chats.accountId, membersFetchedAt: chats.membersFetchedAt }, "chats_locate")
    const membersOf = database.db
      .select({ userId: chatMembers.userId, name: chatMembers.name, emailId: chatMembers.emailId })
      .from(chatMembers)
      .where(
        and(eq(chatMembers.accountId, sql.placeholder("accountId")), eq(chatMembers.chatId, sql.placeholder("chatId")))
      )
      .orderBy(asc(chatMembers.userId))
      .prepare("chat_members")

    /** Without an account, a chat id present in several accounts resolves to the lowest account id. */
    const get = Effect.fnUntraced(function* (chatId: string, accountId?: string) {
      const rows = yield* chatById(chatId, accountId)
      return Option.fromNullable(rows[0])
    })

    const members = Effect.fnUntraced(function* (chatId: string, accountId?: string) {
      const [chat] = yield* locate(chatId, accountId)
      if (chat === undefined) return Option.none<ChatMembers>()
      const rows = yield* database.use(() => membersOf.execute({ accountId: chat.accountId, chatId }))
      return Option.some<ChatMembers>({
        accountId: chat.accountId,
        fetchedAt: chat.membersFetchedAt,
        members: rows
      })
    })

    return { list, get, members } as const
  }),
  dependencies: [Database.Default]
}) {}
