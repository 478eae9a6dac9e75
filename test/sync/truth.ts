import type { ChatTruth, RunningSimulator } from "../../apps/simulator/src/index.js"

const second = (ms: number) => Math.floor(ms / 1000) * 1000

/** What the mirror must hold for a chat as user `userIndex` sees it: bodies carry whole seconds (docs/upstream.md#sim-response-times). */
export const expectedRow = (t: ChatTruth, userIndex = 0) => {
  const u = t.users.find(x => x.userIndex === userIndex)!
  const lastVisible = t.lastMessage && (u.clearedAtMs === null || t.lastMessage.timeMs > u.clearedAtMs)
  return {
    chat_id: t.chatId,
    name: u.name,
    chat_type: t.chatType,
    participant_count: t.participantCount,
    creator_id: t.creatorId,
    created_time: second(t.createdMs),
    last_modified_time: second(t.lastModifiedMs),
    last_message_time: lastVisible ? second(t.lastMessage!.timeMs) : null,
    last_message: lastVisible
      ? { id: t.lastMessage!.messageId, sender: t.lastMessage!.senderId, text: t.lastMessage!.text }
      : null,
    pinned: u.pinned,
    removed: u.removed,
    unread_message_count: u.unreadCount,
    muted: u.muted,
    closed: u.closed,
    drafts: u.draft !== null,
    joined: u.joined,
    previous_titles: t.previousTitles.length > 0 ? t.previousTitles.join(", ") : null,
    parent_chat_id: t.parentChatId,
    thread_message_id: t.threadMessageId
  }
}

/** Chats user `userIndex` can learn of: listed by search (not removed) or by the closed listing. */
export const visibleTruth = (sim: RunningSimulator, userIndex = 0) =>
  sim.state.chats().filter(t => {
    const u = t.users.find(x => x.userIndex === userIndex)
    return !t.deleted && u !== undefined && (u.member || u.removed) && (!u.removed || u.closed)
  })

export const MIRROR_ROW_SQL = `
  select chat_id, name, chat_type, participant_count, creator_id,
    (extract(epoch from created_time) * 1000)::bigint as created_time,
    (extract(epoch from last_modified_time) * 1000)::bigint as last_modified_time,
    (extract(epoch from last_message_time) * 1000)::bigint as last_message_time,
    case when last_message_info is not null then json_build_object('id', last_message_info ->> 'message_id',
      'sender', last_message_info ->> 'sender', 'text', last_message_info -> 'content' ->> 'text') end as last_message,
    pinned, removed, unread_message_count, muted, closed, drafts, joined, previous_titles, parent_chat_id,
    thread_message_id
  from chats where account_id = 'default' order by chat_id`

export const normalise = (row: Record<string, unknown>): Record<string, unknown> => ({
  ...row,
  created_time: row.created_time === null ? null : Number(row.created_time),
  last_modified_time: row.last_modified_time === null ? null : Number(row.last_modified_time),
  last_message_time: row.last_message_time === null ? null : Number(row.last_message_time)
})
