import { assert, describe, it } from "@effect/vitest"
import { FastCheck, Schema } from "effect"
import { ChatDto } from "../src/Cliq/ChatDto.js"
import {
  type ChatState,
  diffFlag,
  diffObservation,
  emptyFlags,
  evolveChat,
  type ObservedFields,
  observedFields
} from "../src/Domain/index.js"

const base: ObservedFields = {
  chatId: "2890538000000012345",
  name: "Alpha",
  chatType: "group_chat",
  participantCount: 3,
  creatorId: "70027934",
  creatorName: "Tim",
  createdTime: 1_700_000_000_000,
  lastModifiedTime: 1_700_000_100_000,
  lastMessageTime: 1_700_000_050_000,
  pinned: false,
  removed: false,
  unreadMessageCount: 0,
  unreadTime: null,
  lastMessageInfo: { message_id: "1700000050000_1", time: "2023-11-14T22:14:10Z" },
  previousTitles: null,
  threadMessageId: null,
  parentChatId: null,
  raw: { chat_id: "2890538000000012345", name: "Alpha", extra_upstream_field: 1 }
}

const apply = (state: ChatState | undefined, obs: ObservedFields) =>
  diffObservation(state, obs).reduce<ChatState | undefined>(evolveChat, state)

const observation = FastCheck.record({
  name: FastCheck.constantFrom("Alpha", "Beta", "Gamma"),
  chatType: FastCheck.constantFrom<Array<"group_chat" | "channel" | "thread">>("group_chat", "channel", "thread"),
  participantCount: FastCheck.option(FastCheck.integer({ min: 1, max: 50 }), { nil: null }),
  creatorName: FastCheck.constantFrom("Tim", "Ann"),
  lastModifiedTime: FastCheck.integer({ min: 1_700_000_000_000, max: 1_700_000_900_000 }),
  lastMessageTime: FastCheck.option(FastCheck.integer({ min: 1_700_000_000_000, max: 1_700_000_900_000 }), {
    nil: null
  }),
  pinned: FastCheck.boolean(),
  removed: FastCheck.boolean(),
  unreadMessageCount: FastCheck.integer({ min: 0, max: 5 }),
  previousTitles: FastCheck.option(FastCheck.constantFrom("Old", "Older"), { nil: null }),
  extra: FastCheck.integer({ min: 0, max: 2 })
})

describe("diffObservation / evolveChat", () => {
  it("discovers an unknown chat with one event carrying the raw payload", () => {
    const events = diffObservation(undefined, base)
    assert.strictEqual(events.length, 1)
    assert.strictEqual(events[0]!.type, "ChatDiscovered")
    assert.deepStrictEqual(apply(undefined, base), { ...base, ...emptyFlags })
  })

  it("stores a discovery as the raw object alone, which replays to the state the writer folded", () => {
    const raw = {
      chat_id: 2890538012345,
      name: "Alpha",
      chat_type: "a_type_added_later",
      participant_count: 3,
      creator: { id: "70027934", name: "Tim" },
      created_time: "2023-11-14T22:13:20+05:30",
      last_modified_time: "1700000100000",
      user_membership: { pinned: true },
      last_message_info: { message_id: "1700000050000_1", time: "2023-11-14T22:14:10Z", extra: [1] },
      unread_message_count: 2,
      extra_upstream_field: { nested: true }
    }
    const obs = observedFields(Schema.decodeUnknownSync(ChatDto)(raw), raw)
    const [event] = diffObservation(undefined, obs)
    const stored = JSON.parse(JSON.stringify(event))
    assert.deepStrictEqual(stored.payload, { last_modified_time: "2023-11-14T22:15:00.000Z", raw })
    assert.deepStrictEqual(evolveChat(undefined, stored), evolveChat(undefined, event!))
    assert.deepStrictEqual(evolveChat(undefined, stored), { ...obs, ...emptyFlags })
    // Discoveries logged before the payload held `raw` alone also carried a `chat` snapshot: replay decodes `raw`.
    const older = { ...stored, payload: { ...stored.payload, chat: { chat_id: "ignored" } } }
    assert.deepStrictEqual(evolveChat(undefined, older), { ...obs, ...emptyFlags })
  })

  it("appends nothing for an observation that changes nothing, even with reordered raw keys", () => {
    const state = apply(undefined, base)!
    const reordered = { ...base, raw: { extra_upstream_field: 1, name: "Alpha", chat_id: "2890538000000012345" } }
    assert.deepStrictEqual(diffObservation(state, reordered), [])
  })

  it("names each meaningful change once", () => {
    const state = apply(undefined, base)!
    const events = diffObservation(state, {
      ...base,
      name: "Beta",
      previousTitles: "Alpha",
      pinned: true,
      unreadMessageCount: 2,
      lastModifiedTime: base.lastModifiedTime! + 1000
    })
    assert.deepStrictEqual(
      events.map(e => e.type),
      ["ChatRenamed", "ChatPinned", "UnreadCountChanged"]
    )
    const renamed = events[0]!
    assert.deepInclude(renamed.payload, { old_title: "Alpha", new_title: "Beta" })
  })

  it("replaying the events of any sequence of observations reproduces the last observation", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.array(observation, { minLength: 1, maxLength: 8 }), unordered => {
        // Observed in time order: last_modified_time never goes back (older observations: the test below).
        const observations = [...unordered].sort((a, b) => a.lastModifiedTime - b.lastModifiedTime)
        let state: ChatState | undefined
        for (const { extra, ...o } of observations) {
          const obs: ObservedFields = {
            ...base,
            ...o,
            raw: { ...base.raw, name: o.name, extra_upstream_field: extra }
          }
          state = apply(state, obs)
          const { muted, closed, drafts, joined, membersFetchedAt, ...observed } = state!
          assert.deepStrictEqual(observed, obs)
          assert.deepStrictEqual([muted, closed, drafts, joined, membersFetchedAt], [false, false, false, false, null])
          assert.deepStrictEqual(diffObservation(state, obs), [])
        }
      })
    )
  })

  // A page fetched before another can commit after it (a state listing's observations wait for the flag's settlement):
  // an observation of a chat modified in an earlier second than the one held is older and changes nothing.
  it("an observation older than the one held changes nothing; one of the same second still does", () => {
    const held = apply(undefined, { ...base, name: "Renamed", unreadMessageCount: 2 })!
    const older = { ...base, lastModifiedTime: base.lastModifiedTime! - 1_000 }
    assert.deepStrictEqual(diffObservation(held, older), [])
    assert.deepStrictEqual(diffObservation(held, { ...older, removed: true }), [])
    // Bodies carry whole seconds: .000 against .870 of the same second is no evidence of age.
    const sameSecond = { ...base, lastModifiedTime: base.lastModifiedTime! - (base.lastModifiedTime! % 1000) }
    const held870 = apply(undefined, { ...base, lastModifiedTime: sameSecond.lastModifiedTime + 870, name: "X" })!
    assert.deepStrictEqual(
      diffObservation(held870, sameSecond).map(e => e.type),
      ["ChatRenamed"]
    )
    // An observation without a time, or a held chat without one, is compared field by field as before.
    assert.deepStrictEqual(
      diffObservation(held, { ...older, lastModifiedTime: null }).map(e => e.type),
      ["ChatRenamed", "UnreadCountChanged"]
    )
  })

  it("flags from state listings toggle with their own events", () => {
    const state = apply(undefined, base)!
    assert.strictEqual(diffFlag(state, "muted", false), undefined)
    const muted = diffFlag(state, "muted", true)!
    assert.strictEqual(muted.type, "ChatMuted")
    const after = evolveChat(state, muted)!
    assert.strictEqual(after.muted, true)
    assert.strictEqual(diffFlag(after, "muted", false)!.type, "ChatUnmuted")
    assert.deepStrictEqual(diffFlag(state, "drafts", true), { type: "ChatDraftsChanged", payload: { drafts: true } })
  })
})
