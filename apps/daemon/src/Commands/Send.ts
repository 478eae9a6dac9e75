import {
  type Account,
  ChatId,
  type CliqError,
  COMMAND_OPERATION,
  diffFlag,
  type Granted,
  MessageId,
  observedFields,
  UserId
} from "@cliq-mirror/core"
import type { CommandOutcome, CommandRecord, Settlement } from "@cliq-mirror/db"
import { Effect } from "effect"
import { Upstream } from "../Upstream.js"
import { carrierOf } from "./Plan.js"

type Derive = NonNullable<Settlement["derive"]>[number]
type Of<T extends CommandRecord["type"]> = Extract<CommandRecord, { readonly type: T }>

const ofType =
  <T extends CommandRecord["type"]>(type: T) =>
  (c: CommandRecord): c is Of<T> =>
    c.type === type

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

const byChat = (batch: ReadonlyArray<Of<"mark_as_read">>) => {
  const groups = new Map<string, Array<Of<"mark_as_read">>>()
  for (const c of batch) groups.set(c.params.chat_id, [...(groups.get(c.params.chat_id) ?? []), c])
  return groups
}

const chatIds = (ids: ReadonlyArray<string>) => ids.map(id => ChatId.make(id))
const userIds = (ids: ReadonlyArray<string>) => ids.map(id => UserId.make(id))

/**
 * Sends one planned batch with the budget slot already taken for it (`grant`) and maps the upstream answer back onto
 * every command it carried, with the state changes to record. Fails with the upstream error for the caller to classify.
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
    switch (job.type) {
      case "mark_as_read": {
        const groups = byChat(batch.filter(ofType("mark_as_read")))
        const items = [...groups.values()].map(run => {
          const last = run[run.length - 1]!
          return {
            chat_id: ChatId.make(last.params.chat_id),
            last_message_id: MessageId.make(last.params.last_message_id)
          }
        })
        const answer = yield* send(c => c.bulkReadStatusUpdate(items))
        const ok = new Set<string>(answer.success)
        const outcomes = [...groups.values()].flatMap(run => {
          const last = run[run.length - 1]!
          return run.map(c =>
            ok.has(c.params.chat_id)
              ? succeeded(c, { last_message_id: last.params.last_message_id }, last.id !== c.id ? last.id : job.id)
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
        const ids = [...new Set(batch.filter(ofType("clear_unread")).flatMap(c => c.params.chat_ids))]
        yield* send(c => c.bulkClearUnread(chatIds(ids)))
        return { outcomes: batch.map(c => succeeded(c, null, job.id)), derive: ids.map(unreadCleared) }
      }
      case "update_title": {
        const carrier = carrierOf(batch.filter(ofType("update_title")))
        const { chat_id, title } = carrier.params
        const answer = yield* send(c => c.updateTitle(ChatId.make(chat_id), title))
        return {
          outcomes: batch.map(c => succeeded(c, { title: answer.title }, carrier.id)),
          derive: [
            {
              chatId: chat_id,
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
        const carrier = carrierOf(batch)
        const muted = carrier.type === "mute_chat"
        const chatId = ChatId.make(job.params.chat_id)
        // The run's last command decides, and it may be of the other type (another bucket): send swaps the slot.
        yield* upstream.send(account, muted ? "muteChat" : "unmuteChat", grant, c =>
          muted ? c.muteChat(chatId) : c.unmuteChat(chatId)
        )
        return {
          outcomes: batch.map(c => succeeded(c, { muted }, carrier.id)),
          derive: [{ chatId, derive: s => diffFlag(s, "muted", muted) }]
        }
      }
      case "close_chat": {
        const chatId = ChatId.make(job.params.chat_id)
        yield* send(c => c.closeChat(chatId))
        return { outcomes: [succeeded(job, null)], derive: [{ chatId, derive: s => diffFlag(s, "closed", true) }] }
      }
      case "leave_chat": {
        const chatId = ChatId.make(job.params.chat_id)
        yield* send(c => c.leaveChat(chatId))
        return { outcomes: [succeeded(job, null)], derive: [leftChat(chatId)] }
      }
      case "mark_as_unread": {
        const { chat_id, message_id } = job.params
        yield* send(c => c.markAsUnread(ChatId.make(chat_id), MessageId.make(message_id)))
        return {
          outcomes: [succeeded(job, null)],
          derive: [{ chatId: chat_id, derive: () => ({ type: "ChatMarkedUnread", payload: { message_id } }) }]
        }
      }
      case "update_history_status": {
        const { chat_id, history_status } = job.params
        yield* send(c => c.updateHistoryStatus(ChatId.make(chat_id), history_status))
        return {
          outcomes: [succeeded(job, { history_status })],
          derive: [
            { chatId: chat_id, derive: () => ({ type: "ChatHistoryStatusChanged", payload: { history_status } }) }
          ]
        }
      }
      case "clear_local_history": {
        const chatId = job.params.chat_id
        yield* send(c => c.clearLocalHistory(ChatId.make(chatId)))
        return {
          outcomes: [succeeded(job, null)],
          derive: [{ chatId, derive: () => ({ type: "ChatLocalHistoryCleared", payload: {} }) }]
        }
      }
      case "add_members": {
        const { chat_id, user_ids } = job.params
        const answer = yield* send(c => c.addMembers(ChatId.make(chat_id), userIds(user_ids)))
        const added = answer.added_user_ids.map(user_id => ({ user_id, name: null, email_id: null }))
        return {
          outcomes: [succeeded(job, { added_user_ids: answer.added_user_ids })],
          derive:
            added.length === 0
              ? []
              : [
                  {
                    chatId: chat_id,
                    derive: () => ({ type: "MembersChanged", payload: { added, removed: [], updated: [] } })
                  }
                ]
        }
      }
      case "remove_members": {
        const { chat_id, user_ids } = job.params
        const answer = yield* send(c => c.removeMembers(ChatId.make(chat_id), userIds(user_ids)))
        const removed = answer.removed_user_ids
        return {
          outcomes: [succeeded(job, { removed_user_ids: removed })],
          derive:
            removed.length === 0
              ? []
              : [
                  {
                    chatId: chat_id,
                    derive: () => ({ type: "MembersChanged", payload: { added: [], removed, updated: [] } })
                  }
                ]
        }
      }
      case "create_chat": {
        const p = job.params
        const made = yield* send(c =>
          c.createChat(
            p.chat_type === "direct_message"
              ? { chat_type: "direct_message", user_id: UserId.make(p.user_id) }
              : { chat_type: "group_chat", user_ids: userIds(p.user_ids), title: p.title }
          )
        )
        return {
          outcomes: [succeeded(job, { chat_id: made.chat.chat_id })],
          observed: [{ raw: made.raw, chat: observedFields(made.chat, made.raw) }]
        }
      }
      case "fork_chat": {
        const p = job.params
        const made = yield* send(c =>
          c.forkChat(ChatId.make(p.chat_id), {
            message_id: MessageId.make(p.message_id),
            title: p.title,
            ...("include_participants" in p ? { include_participants: true } : { user_ids: userIds(p.user_ids) })
          })
        )
        return {
          outcomes: [succeeded(job, { chat_id: made.chat.chat_id })],
          observed: [{ raw: made.raw, chat: observedFields(made.chat, made.raw) }]
        }
      }
    }
  })

export const leftChat = (chatId: string): Derive => ({
  chatId,
  derive: s => (s.removed ? undefined : { type: "ChatRemoved", payload: { reason: "left" } })
})
