import {
  type ChatEvent,
  type ChatEventPayloads,
  type ChatState,
  evolveChat,
  type MemberInfo,
  snapshotState
} from "@cliq-mirror/core"

/** A chat's state and members as a fold of its events: replay and compaction both fold through `foldChatEvent`. */
export interface ChatFold {
  state: ChatState | undefined
  members: Map<string, MemberInfo>
}

export const emptyFold = (): ChatFold => ({ state: undefined, members: new Map() })

export const foldChatEvent = (fold: ChatFold, event: ChatEvent): void => {
  fold.state = evolveChat(fold.state, event)
  if (event.type === "MembersChanged") {
    for (const id of event.payload.removed) fold.members.delete(id)
    for (const m of [...event.payload.added, ...event.payload.updated]) fold.members.set(m.user_id, m)
  } else if (event.type === "ChatSnapshotted") {
    fold.members = new Map(event.payload.members.map(m => [m.user_id, m]))
  }
}

export interface StoredChatEvent {
  readonly seq: number
  /** Recorded before the cutoff. */
  readonly old: boolean
  readonly event: ChatEvent
}

export type CompactionPlan =
  | { readonly _tag: "Keep"; readonly reason: "nothing_to_gain" | "no_state" }
  | {
      readonly _tag: "Snapshot"
      /** The events recorded before the cutoff, a prefix of the chat's events in seq order. */
      readonly deleteSeqs: ReadonlyArray<number>
      readonly snapshot: ChatEventPayloads["ChatSnapshotted"]
    }

/**
 * What compaction does with one chat, given all its chat events in seq order: the events recorded before the cutoff
 * `before` (the longest such prefix, so a late commit never leaves a hole) are replaced by one snapshot of the state after all its events,
 * appended after them. A chat with fewer than two such events keeps them: a snapshot would save nothing.
 */
export const planCompaction = (events: ReadonlyArray<StoredChatEvent>, before: Date): CompactionPlan => {
  let old = 0
  while (old < events.length && events[old]!.old) old++
  if (old < 2) return { _tag: "Keep", reason: "nothing_to_gain" }
  const fold = emptyFold()
  for (const e of events) foldChatEvent(fold, e.event)
  if (fold.state === undefined) return { _tag: "Keep", reason: "no_state" }
  const dropped = events.slice(0, old)
  const compacted = dropped.reduce(
    (n, e) => n + (e.event.type === "ChatSnapshotted" ? e.event.payload.events_compacted : 1),
    0
  )
  return {
    _tag: "Snapshot",
    deleteSeqs: dropped.map(e => e.seq),
    snapshot: {
      state: snapshotState(fold.state),
      members: [...fold.members.values()].sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0)),
      through_seq: events[events.length - 1]!.seq,
      events_compacted: compacted,
      compacted_before: before.toISOString()
    }
  }
}
