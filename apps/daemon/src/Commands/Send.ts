import {
  type Account,
  type ChatId,
  type CliqError,
  COMMAND_OPERATION,
  diffFlag,
  type Granted,
  type MessageId,
  observedFields,
  type UserId
} from "@cliq-mirror/core"
import type { CommandOutcome, CommandRecord, Settlement } from "@cliq-mirror/db"
import { Effect } from "effect"
import { Upstream } from "../Upstream.js"
import { carrierOf } from "./Plan.js"

type Derive = NonNullable<Settlement["derive"]>[number]

const succeeded = (command: CommandRecord, result: Record<string, unknown> | null, by?: string): CommandOutcome => ({
  command,
  status: "succeeded",
  result,
  ...(by !== undefined && by !== command.id ? { supersededBy: by } : {})
})

const unreadCleared = (chatId: string): Derive => ({
  chatId,
  derive: s =>
    s.unreadMessageCount === 0 && s.unreadTime === null
      ? undefined
      : { type: "UnreadCountChanged", payload: { old_count: s.unreadMessageCount, new_count: 0, unread_time: null } }
})

const byChat = (batch: ReadonlyArray<CommandRecord>) => {
  const groups = new Map<string, Array<CommandRecord>>()
  for (const c of batch) groups.set(c.chatId!, [...(groups.get(c.chatId!) ?? []), c])
  return groups
}

const str = (c: CommandRecord, key: string) => c.params[key] as string
const ids = (c: CommandRecord, key: string) => c.params[key] as ReadonlyArray<string>

/**
 * Sends one planned batch with the budget slot already taken for it (`grant`) and maps the upstream answer back onto every command
 * it carried, with the state changes to record. Fails with the upstream error for the caller to classify.
 */
export const sendBatch = (
  account: Account,
  job: CommandRecord,
  batch: ReadonlyArray<CommandRecord>,
  grant: Granted
): Effect.Effect<Settlement, CliqError, Upstream> =>
  Effect.gen(function* () {
    const upstream = yield* Upstream
    const send = <A>(run: Parameters<typeof upstream.send<A>>[3]) =>
      upstream.send(account, COMMAND_OPERATION[job.type], grant, run)
    const carrier = carrierOf(batch)
    const chatId = job.chatId as ChatId
    switch (job.type) {
      case "mark_as_read": {
        const groups = byChat(batch)
        const items = [...groups.values()].map(run => {
          const last = run[run.length - 1]!
          return { chat_id: last.chatId as ChatId, last_message_id: str(last, "last_message_id") as MessageId }
        })
        const answer = yield* send(c => c.bulkReadStatusUpdate(items))
        const ok = new Set<string>(answer.success)
        const outcomes = [...groups.values()].flatMap(run => {
          const last = run[run.length - 1]!
          return run.map(c =>
            ok.has(c.chatId!)
              ? succeeded(c, { last_message_id: str(last, "last_message_id") }, last.id !== c.id ? last.id : job.id)
              : ({
                  command: c,
                  status: "failed",
                  error: { code: "read_status_failed", message: "Cliq listed this chat under `failure`" }
                } satisfies CommandOutcome)
          )
        })
        return { outcomes, derive: [...ok].map(unreadCleared) }
      }
      case "clear_unread": {
        const chatIds = [...new Set(batch.flatMap(c => ids(c, "chat_ids")))]
        yield* send(c => c.bulkClearUnread(chatIds as Array<ChatId>))
        return { outcomes: batch.map(c => succeeded(c, null, job.id)), derive: chatIds.map(unreadCleared) }
      }
      case "update_title": {
        const title = str(carrier, "title")
        const answer = yield* send(c => c.updateTitle(carrier.chatId as ChatId, title))
        return {
          outcomes: batch.map(c => succeeded(c, { title: answer.title }, carrier.id)),
          derive: [
            {
              chatId: carrier.chatId!,
              derive: s =>
                s.name === title
                  ? undefined
                  : {
                      type: "ChatRenamed",
                      payload: { old_title: s.name, new_title: title, previous_titles: s.previousTitles }
                    }
            }
          ]
        }
      }
      case "mute_chat":
      case "unmute_chat": {
        const muted = carrier.type === "mute_chat"
        // The run's last command decides, and it may be of the other type (another bucket): send swaps the slot.
        yield* upstream.send(account, muted ? "muteChat" : "unmuteChat", grant, c =>
          muted ? c.muteChat(carrier.chatId as ChatId) : c.unmuteChat(carrier.chatId as ChatId)
        )
        return {
          outcomes: batch.map(c => succeeded(c, { muted }, carrier.id)),
          derive: [{ chatId: carrier.chatId!, derive: s => diffFlag(s, "muted", muted) }]
        }
      }
      case "close_chat": {
        yield* send(c => c.closeChat(chatId))
        return { outcomes: [succeeded(job, null)], derive: [{ chatId, derive: s => diffFlag(s, "closed", true) }] }
      }
      case "leave_chat": {
        yield* send(c => c.leaveChat(chatId))
        return {
          outcomes: [succeeded(job, null)],
          derive: [
            {
              chatId,
              derive: s => (s.removed ? undefined : { type: "ChatRemoved", payload: { reason: "left" } })
            }
          ]
        }
      }
      case "mark_as_unread": {
        yield* send(c => c.markAsUnread(chatId, str(job, "message_id") as MessageId))
        return { outcomes: [succeeded(job, null)] }
      }
      case "update_history_status": {
        yield* send(c => c.updateHistoryStatus(chatId, str(job, "history_status") as "enabled" | "disabled"))
        return { outcomes: [succeeded(job, { history_status: str(job, "history_status") })] }
      }
      case "clear_local_history": {
        yield* send(c => c.clearLocalHistory(chatId))
        return { outcomes: [succeeded(job, null)] }
      }
      case "add_members": {
        const answer = yield* send(c => c.addMembers(chatId, ids(job, "user_ids") as Array<UserId>))
        const added = answer.added_user_ids.map(user_id => ({ user_id, name: null, email_id: null }))
        return {
          outcomes: [succeeded(job, { added_user_ids: answer.added_user_ids })],
          derive:
            added.length === 0
              ? []
              : [{ chatId, derive: () => ({ type: "MembersChanged", payload: { added, removed: [], updated: [] } }) }]
        }
      }
      case "remove_members": {
        const answer = yield* send(c => c.removeMembers(chatId, ids(job, "user_ids") as Array<UserId>))
        const removed = answer.removed_user_ids
        return {
          outcomes: [succeeded(job, { removed_user_ids: removed })],
          derive:
            removed.length === 0
              ? []
              : [{ chatId, derive: () => ({ type: "MembersChanged", payload: { added: [], removed, updated: [] } }) }]
        }
      }
      case "create_chat":
      case "fork_chat": {
        const made =
          job.type === "create_chat"
            ? yield* send(c =>
                c.createChat(
                  str(job, "chat_type") === "direct_message"
                    ? { chat_type: "direct_message", user_id: str(job, "user_id") as UserId }
                    : {
                        chat_type: "group_chat",
                        user_ids: ids(job, "user_ids") as Array<UserId>,
                        title: str(job, "title")
                      }
                )
              )
            : yield* send(c =>
                c.forkChat(chatId, {
                  message_id: str(job, "message_id") as MessageId,
                  title: str(job, "title"),
                  ...(job.params.include_participants === true
                    ? { include_participants: true }
                    : { user_ids: ids(job, "user_ids") as Array<UserId> })
                })
              )
        return {
          outcomes: [succeeded(job, { chat_id: made.chat.chat_id })],
          observed: [{ raw: made.raw, chat: observedFields(made.chat, made.raw) }]
        }
      }
    }
  })
