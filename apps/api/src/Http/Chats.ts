import { type ChatFilters, ChatsQuery } from "@cliq-mirror/db/ChatsQuery"
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { Api } from "../Api.js"
import { decodeCursor, encodeCursor, filtersFingerprint } from "../Cursor.js"
import { type ChatPage, toChatJson, toMembersDto } from "../Dto/Chat.js"
import { NotFound } from "../Errors.js"
import { jsonResponse } from "../Json.js"
import { DEFAULT_LIMIT, type ListChatsParams } from "../Params.js"

const filtersOf = (p: ListChatsParams): ChatFilters => ({
  accountId: p.account_id,
  chatTypes: p.chat_type,
  pinned: p.pinned,
  muted: p.muted,
  removed: p.removed,
  closed: p.closed,
  unread: p.unread,
  q: p.q,
  modifiedAfter: p.modified_after,
  modifiedBefore: p.modified_before
})

const chatNotFound = (chatId: string, accountId: string | undefined) =>
  NotFound.of(
    accountId === undefined
      ? `chat ${chatId} is not mirrored`
      : `chat ${chatId} of account ${accountId} is not mirrored`
  )

export const ChatsLive = HttpApiBuilder.group(Api, "chats", handlers =>
  Effect.gen(function* () {
    const chats = yield* ChatsQuery
    return handlers
      .handle("listChats", ({ urlParams }) =>
        Effect.gen(function* () {
          const filters = filtersOf(urlParams)
          const sort = urlParams.sort ?? "recent"
          const fingerprint = filtersFingerprint(filters)
          const after =
            urlParams.cursor === undefined ? undefined : yield* decodeCursor(urlParams.cursor, sort, fingerprint)
          const page = yield* chats.list({ filters, sort, limit: urlParams.limit ?? DEFAULT_LIMIT, after })
          const body: typeof ChatPage.Encoded = {
            data: page.rows.map(toChatJson),
            next_cursor: Option.getOrNull(Option.map(page.next, key => encodeCursor(key, fingerprint)))
          }
          return jsonResponse(body)
        }).pipe(Effect.catchTag("DbError", Effect.die))
      )
      .handle("getChat", ({ path, urlParams }) =>
        chats.get(path.chat_id, urlParams.account_id).pipe(
          Effect.catchTag("DbError", Effect.die),
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.fail(chatNotFound(path.chat_id, urlParams.account_id)),
              onSome: row => Effect.succeed(jsonResponse(toChatJson(row)))
            })
          )
        )
      )
      .handle("listMembers", ({ path, urlParams }) =>
        chats.members(path.chat_id, urlParams.account_id).pipe(
          Effect.catchTag("DbError", Effect.die),
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.fail(chatNotFound(path.chat_id, urlParams.account_id)),
              onSome: members => Effect.succeed(toMembersDto(members))
            })
          )
        )
      )
  })
)
