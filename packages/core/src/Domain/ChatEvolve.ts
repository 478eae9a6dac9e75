import { discoveredState, msOrNull, stateFromSnapshot } from "./ChatSnapshot.js"
import type { ChatState } from "./ChatState.js"
import type { ChatEvent } from "./Events.js"

const DETAIL_KEYS: Record<string, keyof ChatState> = {
  chat_type: "chatType",
  creator_id: "creatorId",
  creator_name: "creatorName",
  created_time: "createdTime",
  previous_titles: "previousTitles",
  thread_message_id: "threadMessageId",
  parent_chat_id: "parentChatId",
  last_modified_time: "lastModifiedTime"
}

const TIME_KEYS = new Set<keyof ChatState>(["createdTime", "lastModifiedTime"])

/** Applies one event to a chat's state. The live writer and `npm run replay` both fold events through this. */
export const evolveChat = (state: ChatState | undefined, event: ChatEvent): ChatState | undefined => {
  if (event.type === "ChatDiscovered") {
    return discoveredState(event.payload)
  }
  if (event.type === "ChatSnapshotted") return stateFromSnapshot(event.payload.state)
  if (state === undefined) return undefined
  const p = event.payload
  let next: ChatState = state
  if ("last_modified_time" in p && p.last_modified_time !== undefined) {
    next = { ...next, lastModifiedTime: msOrNull(p.last_modified_time) }
  }
  if ("raw" in p && p.raw !== undefined) next = { ...next, raw: p.raw }
  switch (event.type) {
    case "ChatRenamed":
      return { ...next, name: event.payload.new_title, previousTitles: event.payload.previous_titles }
    case "ChatPinned":
    case "ChatUnpinned":
      return { ...next, pinned: event.type === "ChatPinned" }
    case "ChatMuted":
    case "ChatUnmuted":
      return { ...next, muted: event.type === "ChatMuted" }
    case "ChatClosed":
    case "ChatReopened":
      return { ...next, closed: event.type === "ChatClosed" }
    case "ChatDraftsChanged":
      return { ...next, drafts: event.payload.drafts }
    case "ChatJoinedChanged":
      return { ...next, joined: event.payload.joined }
    case "UnreadCountChanged":
      return { ...next, unreadMessageCount: event.payload.new_count, unreadTime: msOrNull(event.payload.unread_time) }
    case "LastMessageChanged":
      return {
        ...next,
        lastMessageInfo: event.payload.last_message_info,
        lastMessageTime: msOrNull(event.payload.last_message_time)
      }
    case "ParticipantCountChanged":
      return { ...next, participantCount: event.payload.new_count }
    case "MembersChanged":
      return event.payload.fetched_at === undefined
        ? next
        : { ...next, membersFetchedAt: Date.parse(event.payload.fetched_at) }
    case "ChatRemoved":
      return { ...next, removed: true }
    case "ChatRestored":
      return { ...next, removed: false }
    case "ChatMarkedUnread":
      return { ...next, unreadMessageCount: Math.max(1, next.unreadMessageCount) }
    case "ChatHistoryStatusChanged":
    case "ChatLocalHistoryCleared":
      return next
    case "ChatDetailsChanged": {
      const patch: Record<string, unknown> = {}
      for (const [field, change] of Object.entries(event.payload.changes)) {
        const key = DETAIL_KEYS[field]
        if (key === undefined) continue
        patch[key] = TIME_KEYS.has(key) ? msOrNull(change.new as string | null) : change.new
      }
      return { ...next, ...patch } as ChatState
    }
  }
}
