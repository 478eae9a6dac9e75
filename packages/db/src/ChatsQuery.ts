import { and, asc, desc, eq, getTableColumns, gt, inArray, lt, type SQL, sql } from "drizzle-orm"
import { Effect, Option } from "effect"
import { Database } from "./Database.js"
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

const { raw: _raw, ...chatColumns } = getTableColumns(chats)
const sortName = sql<string>`lower(${chats.name})`

export type MirroredChatRow = Omit<typeof chats.$inferSelect, "raw">

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

const filterConditions = (f: ChatFilters): Array<SQL> => {
  const conditions: Array<SQL | undefined> = [
    f.accountId === undefined ? undefined : eq(chats.accountId, f.accountId),
    f.chatTypes === undefined ? undefined : inArray(chats.chatType, [...f.chatTypes]),
    f.pinned === undefined ? undefined : eq(chats.pinned, f.pinned),
    f.muted === undefined ? undefined : eq(chats.muted, f.muted),
    f.removed === undefined ? undefined : eq(chats.removed, f.removed),
    f.closed === undefined ? undefined : eq(chats.closed, f.closed),
    f.unread === undefined ? undefined : f.unread ? gt(chats.unreadMessageCount, 0) : eq(chats.unreadMessageCount, 0),
    f.q === undefined || f.q === ""
      ? undefined
      : sql`lower(${chats.name}) like '%' || lower(${escapeLike(f.q)}) || '%' escape '\\'`,
    f.modifiedAfter === undefined ? undefined : gt(chats.lastModifiedTime, f.modifiedAfter),
    f.modifiedBefore === undefined ? undefined : lt(chats.lastModifiedTime, f.modifiedBefore)
  ]
  return conditions.filter((c): c is SQL => c !== undefined)
}

// Keyset predicates mirror the ORDER BY exactly (nulls last for recent), so rows that keep their sort key are
// neither skipped nor repeated however many rows are inserted or updated between pages.
const afterKey = (key: ChatSortKey): SQL => {
  if (key.sort === "name") {
    return sql`(${sortName}, ${chats.chatId}, ${chats.accountId}) > (${key.name}, ${key.chatId}, ${key.accountId})`
  }
  if (key.lastModifiedTime === null) {
    return sql`(${chats.lastModifiedTime} is null and (${chats.chatId}, ${chats.accountId}) < (${key.chatId}, ${key.accountId}))`
  }
  const time = key.lastModifiedTime.toISOString()
  return sql`((${chats.lastModifiedTime}, ${chats.chatId}, ${chats.accountId}) < (${time}::timestamptz, ${key.chatId}, ${key.accountId}) or ${chats.lastModifiedTime} is null)`
}

const orderFor = (sort: ChatSort): Array<SQL> =>
  sort === "name"
    ? [asc(sortName), asc(chats.chatId), asc(chats.accountId)]
    : [sql`${chats.lastModifiedTime} desc nulls last`, desc(chats.chatId), desc(chats.accountId)]

const keyOf = (sort: ChatSort, row: MirroredChatRow & { readonly sortName: string }): ChatSortKey =>
  sort === "name"
    ? { sort, name: row.sortName, chatId: row.chatId, accountId: row.accountId }
    : { sort, lastModifiedTime: row.lastModifiedTime, chatId: row.chatId, accountId: row.accountId }

export class ChatsQuery extends Effect.Service<ChatsQuery>()("@cliq-mirror/db/ChatsQuery", {
  effect: Effect.gen(function* () {
    const database = yield* Database

    const list = Effect.fn("ChatsQuery.list")(function* (request: ChatListRequest) {
      const conditions = filterConditions(request.filters)
      if (request.after !== undefined) conditions.push(afterKey(request.after))
      const rows = yield* database.use(db =>
        db
          .select({ ...chatColumns, sortName })
          .from(chats)
          .where(and(...conditions))
          .orderBy(...orderFor(request.sort))
          .limit(request.limit + 1)
      )
      const page = rows.slice(0, request.limit)
      const last = page[page.length - 1]
      const next =
        rows.length > request.limit && last !== undefined ? Option.some(keyOf(request.sort, last)) : Option.none()
      return { rows: page.map(({ sortName: _, ...row }) => row), next } satisfies ChatListPage
    })

    /** Without an account, a chat id present in several accounts resolves to the lowest account id. */
    const get = Effect.fn("ChatsQuery.get")(function* (chatId: string, accountId?: string) {
      const rows = yield* database.use(db =>
        db
          .select(chatColumns)
          .from(chats)
          .where(and(eq(chats.chatId, chatId), accountId === undefined ? undefined : eq(chats.accountId, accountId)))
          .orderBy(asc(chats.accountId))
          .limit(1)
      )
      return Option.fromNullable(rows[0])
    })

    const members = Effect.fn("ChatsQuery.members")(function* (chatId: string, accountId?: string) {
      const chat = yield* get(chatId, accountId)
      if (Option.isNone(chat)) return Option.none<ChatMembers>()
      const rows = yield* database.use(db =>
        db
          .select({ userId: chatMembers.userId, name: chatMembers.name, emailId: chatMembers.emailId })
          .from(chatMembers)
          .where(and(eq(chatMembers.accountId, chat.value.accountId), eq(chatMembers.chatId, chatId)))
          .orderBy(asc(chatMembers.userId))
      )
      return Option.some<ChatMembers>({
        accountId: chat.value.accountId,
        fetchedAt: chat.value.membersFetchedAt,
        members: rows
      })
    })

    return { list, get, members } as const
  }),
  dependencies: [Database.Default]
}) {}
