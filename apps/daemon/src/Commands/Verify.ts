import { type Account, type ChatId, type CliqError, observedFields, type RateBudgetError } from "@cliq-mirror/core"
import type { CommandRecord, Settlement } from "@cliq-mirror/db"
import { Effect, Option } from "effect"
import { Upstream } from "../Upstream.js"

/** How far before intake a created chat may be stamped and still count as ours (clock skew upstream). */
const CREATED_SLACK_MS = 60_000

const done = (command: CommandRecord, result: Record<string, unknown>, extra: Omit<Settlement, "outcomes"> = {}) =>
  Option.some<Settlement>({
    outcomes: [{ command, status: "succeeded", result: { ...result, verified: true } }],
    ...extra
  })

/**
 * After an attempt whose outcome is unknown (timeout or reset after sending), a non-idempotent command is not simply
 * sent again: the upstream state is read first. `Some` = the effect is already there (the command succeeded).
 */
export const verifyEffect = (
  account: Account,
  command: CommandRecord
): Effect.Effect<Option.Option<Settlement>, CliqError | RateBudgetError, Upstream> =>
  Effect.gen(function* () {
    const upstream = yield* Upstream
    const chatId = command.chatId as ChatId
    switch (command.type) {
      case "create_chat":
      case "fork_chat": {
        // A direct message is returned as it is when it exists (§9.15): sending again is safe.
        if (command.params.chat_type === "direct_message") return Option.none()
        const title = command.params.title as string
        const since = command.createdAt.getTime() - CREATED_SLACK_MS
        const page = yield* upstream.call(account, "searchChats", undefined, c =>
          c.searchChats({ title: title.slice(0, 200), modified_after: since, limit: 500 })
        )
        for (const item of page.items) {
          if (!("chat" in item)) continue
          const chat = item.chat
          if (chat.name === title && (chat.created_time ?? 0) >= since) {
            return done(
              command,
              { chat_id: chat.chat_id },
              { observed: [{ raw: item.raw, chat: observedFields(chat, item.raw) }] }
            )
          }
        }
        return Option.none()
      }
      case "add_members":
      case "remove_members": {
        const members = yield* upstream.call(account, "listMembers", undefined, c => c.listMembers(chatId))
        const present = new Set<string>(members.map(m => m.user_id))
        const wanted = command.params.user_ids as ReadonlyArray<string>
        const effective =
          command.type === "add_members" ? wanted.every(id => present.has(id)) : wanted.every(id => !present.has(id))
        return effective ? done(command, {}) : Option.none()
      }
      case "leave_chat": {
        const outcome = yield* upstream
          .call(account, "getChat", undefined, c => c.getChat(chatId))
          .pipe(
            Effect.map(found => found.chat.removed === true),
            Effect.catchTag("CliqPermanent", e =>
              e.code === "chat_access_denied" ? Effect.succeed(true) : Effect.fail(e)
            )
          )
        return outcome
          ? done(
              command,
              {},
              {
                derive: [
                  {
                    chatId,
                    derive: s => (s.removed ? undefined : { type: "ChatRemoved", payload: { reason: "left" } })
                  }
                ]
              }
            )
          : Option.none()
      }
      default:
        return Option.none()
    }
  })
