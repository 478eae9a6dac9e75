import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { HttpServer } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { apiTestLayer, type ChatInsert, chatRow, exec, insertChats, TOKEN } from "../api/harness.js"

const BIN = fileURLToPath(new URL("../../apps/cli/bin/cliq-mirror.js", import.meta.url))

const fixture: Array<ChatInsert> = Array.from({ length: 1203 }, (_, i) =>
  chatRow("default", `CT_${String(i).padStart(5, "0")}`, {
    name: i === 7 ? 'Ops, "night" shift' : `chat ${i}`,
    unreadMessageCount: i < 150 ? 2 : 0,
    lastModifiedTime: new Date(Date.UTC(2026, 0, 1) + i * 1000),
    lastMessageInfo: { message_id: `M_${i}` }
  })
)

const Seeded = Layer.effectDiscard(insertChats(fixture)).pipe(Layer.provideMerge(apiTestLayer()))

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const cli = (args: ReadonlyArray<string>, url: string) =>
  Effect.async<Run>(resume => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, CLIQ_MIRROR_URL: url, CLIQ_MIRROR_TOKEN: TOKEN, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", d => (stdout += d))
    child.stderr.on("data", d => (stderr += d))
    const killer = setTimeout(() => child.kill(), 150_000)
    child.on("close", code => {
      clearTimeout(killer)
      resume(Effect.succeed({ code, stdout, stderr }))
    })
    return Effect.sync(() => child.kill())
  })

const apiUrl = Effect.map(HttpServer.HttpServer, server =>
  server.address._tag === "TcpAddress" ? `http://127.0.0.1:${server.address.port}` : ""
)

layer(Seeded, { timeout: "12 minutes", excludeTestServices: true })("the CLI against a running API", it => {
  it.effect(
    "chats list as csv and table, and the whole mirror exported",
    () =>
      Effect.gen(function* () {
        const url = yield* apiUrl
        const csv = yield* cli(["chats", "list", "--unread", "true", "--limit", "1000", "--format", "csv"], url)
        assert.strictEqual(csv.code, 0, csv.stderr)
        const lines = csv.stdout.trimEnd().split("\n")
        assert.strictEqual(
          lines[0],
          "account_id,chat_id,name,chat_type,participant_count,created_time,last_modified_time,unread_message_count,pinned,muted,closed,removed,last_message_id"
        )
        assert.lengthOf(lines, 151)
        assert.include(csv.stdout, 'default,CT_00007,"Ops, ""night"" shift",group_chat,')
        const tableOut = yield* cli(["chats", "list", "--limit", "3"], url)
        assert.strictEqual(tableOut.code, 0, tableOut.stderr)
        assert.match(tableOut.stdout.split("\n")[0]!, /^chat_id\s+name\s+type\s+unread/)
        assert.include(tableOut.stdout, "CT_01202")

        const exported = yield* cli(["chats", "export", "--format", "csv"], url)
        assert.strictEqual(exported.code, 0, exported.stderr)
        const rows = exported.stdout.trimEnd().split("\n").slice(1)
        assert.lengthOf(rows, 1203)
        assert.lengthOf(new Set(rows.map(r => r.split(",")[1])), 1203)
        const jsonl = yield* cli(["chats", "export", "--format", "jsonl", "--unread", "true"], url)
        const objects = jsonl.stdout
          .trimEnd()
          .split("\n")
          .map(l => JSON.parse(l) as { unread_message_count: number })
        assert.lengthOf(objects, 150)
        assert.isTrue(objects.every(o => o.unread_message_count === 2))
      }),
    240_000
  )

  it.effect(
    "bulk shows the dry run, runs with --yes and prints progress lines until the batch ends",
    () =>
      Effect.gen(function* () {
        const url = yield* apiUrl
        const dry = yield* cli(["bulk", "mark_as_read", "--where", "unread=true", "--dry-run"], url)
        assert.strictEqual(dry.code, 0, dry.stderr)
        assert.match(dry.stdout, /^mark_as_read: 150 chats match; 2 upstream calls; eta /)
        const none = yield* exec((_, sql) => sql<Array<{ n: number }>>`select count(*)::int as n from commands`)
        assert.strictEqual(none[0]!.n, 0)

        const refused = yield* cli(["bulk", "mark_as_read", "--where", "unread=true"], url)
        assert.strictEqual(refused.code, 1)
        assert.strictEqual(refused.stderr, "error: bulk: stdin is not a terminal; pass --yes to run it\n")

        // No daemon here: the test settles the commands itself, in two steps, while the CLI follows.
        const settle = Effect.gen(function* () {
          const ids = yield* Effect.iterate([] as Array<{ id: string }>, {
            while: rows => rows.length < 150,
            body: () =>
              Effect.zipRight(
                Effect.sleep("100 millis"),
                exec(
                  (_, sql) =>
                    sql<Array<{ id: string }>>`select id from commands where batch_id is not null order by intake_seq`
                )
              )
          })
          yield* Effect.sleep("600 millis")
          const half = ids.slice(0, 75).map(r => r.id)
          yield* exec((_, sql) => sql`update commands set status = 'succeeded' where id = any(${half}::uuid[])`)
          yield* Effect.sleep("600 millis")
          yield* exec((_, sql) => sql`update commands set status = 'succeeded' where batch_id is not null`)
        })
        const [run] = yield* Effect.all(
          [cli(["bulk", "mark_as_read", "--where", "unread=true", "--yes", "--poll-ms", "100"], url), settle],
          { concurrency: 2 }
        )
        assert.strictEqual(run.code, 0, run.stderr)
        assert.match(run.stdout, /batch [0-9a-f-]{36}: 150 commands taken in/)
        assert.match(run.stdout, /finished: 100% of 150 succeeded=150/)
        const progress = run.stderr.trimEnd().split("\n")
        assert.isTrue(
          progress.every(l => l.startsWith("progress ")),
          run.stderr
        )
        assert.match(progress[0]!, /^progress 0% of 150 queued=150/)
        assert.isTrue(
          progress.some(l => l.startsWith("progress 50% of 150 queued=75 succeeded=75")),
          run.stderr
        )
        assert.strictEqual(progress.at(-1), "progress 100% of 150 succeeded=150")
        assert.notInclude(run.stderr, "\r")
      }),
    240_000
  )

  it.effect(
    "errors are one line naming the flag or the API's code; --help works",
    () =>
      Effect.gen(function* () {
        const url = yield* apiUrl
        const missing = yield* cli(["batches", "show", "00000000-0000-4000-8000-000000000000"], url)
        assert.strictEqual(missing.code, 1)
        assert.strictEqual(missing.stderr, "error: not_found: batch 00000000-0000-4000-8000-000000000000 not found\n")
        const badFlag = yield* cli(["chats", "list", "--unread", "maybe"], url)
        assert.strictEqual(badFlag.stderr, "error: --unread: must be true or false\n")
        const unreachable = yield* cli(["status", "--url", "http://127.0.0.1:1"], url)
        assert.strictEqual(unreachable.code, 1)
        assert.match(unreachable.stderr, /^error: cannot reach the API at http:\/\/127\.0\.0\.1:1\/v1\/sync\/status\n$/)
        const help = yield* cli(["bulk", "--help"], url)
        assert.strictEqual(help.code, 0)
        assert.include(help.stdout, "--dry-run")
      }),
    240_000
  )
})
