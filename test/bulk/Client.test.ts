import { CliqMirrorClient, layer as clientLayer } from "@cliq-mirror/client"
import { HttpServer } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Conflict } from "../../apps/api/src/Errors.js"
import { apiTestLayer, chatRow, exec, insertChats, TOKEN } from "../api/harness.js"

const Seeded = Layer.effectDiscard(
  insertChats(
    Array.from({ length: 120 }, (_, i) =>
      chatRow("default", `CT_${i}`, { unreadMessageCount: 1, lastMessageInfo: { message_id: `M_${i}` } })
    )
  )
).pipe(Layer.provideMerge(apiTestLayer()))

/** The typed client over fetch, aimed at the test server's real address. */
const withClient = <A, E, R>(f: (api: CliqMirrorClient["Type"]) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const server = yield* HttpServer.HttpServer
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    return yield* Effect.flatMap(CliqMirrorClient, f).pipe(
      Effect.provide(clientLayer({ url: `http://127.0.0.1:${port}`, token: TOKEN }))
    )
  })

layer(Seeded, { timeout: "2 minutes", excludeTestServices: true })("packages/client", it => {
  it.effect("drives a bulk request end to end with typed values and typed errors", () =>
    withClient(api =>
      Effect.gen(function* () {
        const preview = yield* api.bulk.bulk({
          payload: { type: "mark_as_read", where: { unread: true }, dry_run: true }
        })
        assert.isTrue("sample" in preview && preview.matched === 120 && preview.upstream_calls === 2)
        const accepted = yield* api.bulk.bulk({ payload: { type: "mark_as_read", where: { unread: true } } })
        if (!("batch_id" in accepted)) return assert.fail("no batch")
        const batch = yield* api.bulk.getBatch({ path: { batch_id: accepted.batch_id } })
        assert.deepStrictEqual(batch.counts, { queued: 120 })
        const page = yield* api.commands.listCommands({ urlParams: { batch_id: accepted.batch_id, limit: 5 } })
        assert.lengthOf(page.data, 5)
        const first = page.data[0]!.command_id
        yield* exec((_, sql) => sql`update commands set status = 'running' where id = ${first}`)
        const refused = yield* Effect.flip(api.bulk.cancelCommand({ path: { command_id: first } }))
        assert.instanceOf(refused, Conflict)
        assert.strictEqual(refused instanceof Conflict ? refused.error.code : "", "not_cancellable")
        const cancelled = yield* api.bulk.cancelBatch({ path: { batch_id: accepted.batch_id } })
        assert.strictEqual(cancelled.cancelled, 119)
      })
    )
  )
})
