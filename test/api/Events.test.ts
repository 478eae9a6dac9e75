import { randomUUID } from "node:crypto"
import { schema } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { apiTestLayer, exec, request } from "./harness.js"

interface EventPage {
  readonly data: ReadonlyArray<{ readonly seq: number; readonly type: string; readonly chat_id: string | null }>
  readonly next_after: number
}

const events = Array.from({ length: 25 }, (_, i) => ({
  eventId: randomUUID(),
  accountId: i % 2 === 0 ? "a1" : "a2",
  chatId: i % 5 === 4 ? null : `c${i % 3}`,
  type: (["ChatPinned", "ChatMuted", "ChatClosed"] as const)[i % 3]!,
  payload: { i, nested: { ok: true } },
  occurredAt: i % 4 === 0 ? null : new Date(Date.UTC(2025, 0, 1, 0, 0, i)),
  recordedAt: new Date(Date.UTC(2025, 0, 2, 0, 0, i)),
  dedupeKey: `k${i}`
}))

const readAll = (query: string, limit: number) =>
  Effect.gen(function* () {
    const seqs: Array<number> = []
    let after = 0
    for (let round = 0; round < 50; round++) {
      const page = (yield* request(`/v1/events?after=${after}&limit=${limit}${query}`)).body as EventPage
      if (page.data.length === 0) {
        assert.strictEqual(page.next_after, after)
        return seqs
      }
      seqs.push(...page.data.map(e => e.seq))
      assert.strictEqual(page.next_after, page.data[page.data.length - 1]!.seq)
      after = page.next_after
    }
    return seqs
  })

const Seeded = Layer.effectDiscard(exec(db => db.insert(schema.events).values(events))).pipe(
  Layer.provideMerge(apiTestLayer())
)

layer(Seeded, { timeout: "2 minutes", excludeTestServices: true })("GET /v1/events", it => {
  it.effect("renders events with seq as a JSON number and times as ISO strings", () =>
    Effect.gen(function* () {
      const reply = yield* request("/v1/events?limit=2")
      assert.strictEqual(reply.status, 200)
      const body = reply.body as { data: Array<Record<string, unknown>>; next_after: number }
      assert.deepStrictEqual(body.data[0], {
        seq: 1,
        event_id: events[0]!.eventId,
        type: "ChatPinned",
        account_id: "a1",
        chat_id: "c0",
        occurred_at: null,
        recorded_at: "2025-01-02T00:00:00.000Z",
        payload: { i: 0, nested: { ok: true } }
      })
      assert.strictEqual(body.data[1]!.occurred_at, "2025-01-01T00:00:01.000Z")
      assert.strictEqual(body.next_after, 2)
    })
  )

  it.effect("pages in ascending seq with next_after; an empty page echoes after", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(
        yield* readAll("", 4),
        events.map((_, i) => i + 1)
      )
      const empty = (yield* request("/v1/events?after=1000")).body as EventPage
      assert.deepStrictEqual(empty, { data: [], next_after: 1000 })
    })
  )

  it.effect("filters by chat_id and by a list of types", () =>
    Effect.gen(function* () {
      const expectedChat = events.flatMap((e, i) => (e.chatId === "c1" ? [i + 1] : []))
      assert.deepStrictEqual(yield* readAll("&chat_id=c1", 2), expectedChat)
      const expectedTypes = events.flatMap((e, i) => (e.type !== "ChatMuted" ? [i + 1] : []))
      assert.deepStrictEqual(yield* readAll("&type=ChatPinned,ChatClosed", 3), expectedTypes)
      assert.isBelow(expectedTypes.length, events.length)
    })
  )

  it.effect("a stored event its schema does not read is a 500, never passed on untyped", () =>
    Effect.gen(function* () {
      const after = events.length
      yield* exec(
        (_, sql) =>
          sql`insert into events (event_id, account_id, chat_id, type, payload, dedupe_key)
            values (${randomUUID()}, 'a1', 'c1', 'ChatRemoved', ${JSON.stringify({ reason: "bored" })}::jsonb, 'bad-1')`
      )
      assert.strictEqual((yield* request(`/v1/events?after=${after - 1}&limit=1`)).status, 200)
      const reply = yield* request(`/v1/events?after=${after}`)
      assert.strictEqual(reply.status, 500)
      assert.deepStrictEqual(reply.body, { error: { code: "internal", message: "internal error" } })
    })
  )
})
