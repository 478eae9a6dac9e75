import { chunkPage, Database, MAX_CHATS_PER_TRANSACTION, MirrorWriter } from "@cliq-mirror/db"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { DatabaseTest } from "../support/layers.js"

const CHATS = 20_000

describe("chunkPage", () => {
  it("keeps each chat whole in one part and the cursor with the last", () => {
    const cursor = { stream: "state:closed", cursor: { count: 5 }, status: "idle", success: true } as const
    const parts = chunkPage(
      {
        accountId: "a",
        flags: [
          { flag: "closed", value: true, chatIds: ["c1", "c2", "c3"] },
          { flag: "closed", value: false, chatIds: ["c4", "c5"] }
        ],
        cursor
      },
      2
    )
    assert.deepStrictEqual(
      parts.map(p => [p.flags?.map(f => [f.value, ...f.chatIds]), p.cursor !== undefined]),
      [
        [[[true, "c1", "c2"]], false],
        [
          [
            [true, "c3"],
            [false, "c4"]
          ],
          false
        ],
        [[[false, "c5"]], true]
      ]
    )
    const small = { accountId: "a", gone: ["x"] }
    assert.deepStrictEqual(chunkPage(small, 2), [small])
  })
})

layer(MirrorWriter.Default.pipe(Layer.provideMerge(DatabaseTest)), {
  timeout: "120 seconds",
  excludeTestServices: true
})("a listing of many flagged chats", it => {
  it.effect(`applies the closed flag to ${CHATS.toLocaleString("en")} chats without exhausting the lock table`, () =>
    Effect.gen(function* () {
      const { sql } = yield* Database
      const writer = yield* MirrorWriter
      yield* Effect.promise(() => sql`insert into accounts (id) values ('big') on conflict do nothing`)
      yield* Effect.promise(
        () => sql`
          insert into chats (account_id, chat_id, name, chat_type, last_modified_time, raw)
          select 'big', 'c' || g, 'chat ' || g, 'group_chat', now() - g * interval '1 second', '{}'::jsonb
          from generate_series(1, ${CHATS}::int) g`
      )
      const ids = Array.from({ length: CHATS }, (_, i) => `c${i + 1}`)
      const [locks] = yield* Effect.promise(
        () => sql<Array<{ per: number; conns: number }>>`
            select current_setting('max_locks_per_transaction')::int as per,
                   current_setting('max_connections')::int as conns`
      )
      // Without chunking, one transaction would need more advisory locks than the whole lock table holds.
      assert.isAbove(CHATS, locks!.per * locks!.conns)
      const result = yield* writer.apply({
        accountId: "big",
        flags: [{ flag: "closed", value: true, chatIds: ids }],
        cursor: { stream: "state:closed", cursor: { count: CHATS }, status: "idle", success: true }
      })
      assert.strictEqual(result.eventsAppended, CHATS)
      const [row] = yield* Effect.promise(
        () => sql<Array<{ closed: number; events: number; cursor: unknown }>>`
            select (select count(*)::int from chats where account_id = 'big' and closed) as closed,
                   (select count(*)::int from events where account_id = 'big' and type = 'ChatClosed') as events,
                   (select cursor from sync_state where account_id = 'big' and stream = 'state:closed') as cursor`
      )
      assert.deepStrictEqual(row, { closed: CHATS, events: CHATS, cursor: { count: CHATS } })
      assert.isAtMost(MAX_CHATS_PER_TRANSACTION, locks!.per * 10)
    })
  )
})
