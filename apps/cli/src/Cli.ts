import { BULK_TYPES, makeClient, parseTime } from "@cliq-mirror/client"
import { CHAT_TYPES, COMMAND_STATUSES, COMMAND_TYPES } from "@cliq-mirror/core"
import { Args, Command, Options, Prompt } from "@effect/cli"
import { FetchHttpClient } from "@effect/platform"
import { Config, Console, Data, Effect, HashMap, Option, type Redacted } from "effect"
import { bar, csvLine, progressLine, table } from "./Format.js"
import { writeOut } from "./Out.js"

/** A refusal the CLI explains in one line (a flag's rule, a missing confirmation). */
export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

const conn = {
  url: Options.text("url").pipe(
    Options.withFallbackConfig(Config.string("CLIQ_MIRROR_URL")),
    Options.withDescription("The API's base URL (or CLIQ_MIRROR_URL), e.g. http://127.0.0.1:8080")
  ),
  token: Options.redacted("token").pipe(
    Options.withFallbackConfig(Config.redacted("CLIQ_MIRROR_TOKEN")),
    Options.withDescription("A bearer token of the API (or CLIQ_MIRROR_TOKEN)")
  )
}
type Conn = { readonly url: string; readonly token: Redacted.Redacted<string> }

const withApi = <A, E>(
  c: Conn,
  f: (api: Effect.Effect.Success<ReturnType<typeof makeClient>>) => Effect.Effect<A, E>
) =>
  Effect.flatMap(makeClient({ url: c.url.replace(/\/+$/, ""), token: c.token }), f).pipe(
    Effect.provide(FetchHttpClient.layer)
  )

const fail = (message: string) => Effect.fail(new CliError({ message }))

const optional = <A>(o: Option.Option<A>): A | undefined => Option.getOrUndefined(o)

const bool = (flag: string, raw: string | undefined) =>
  raw === undefined
    ? Effect.succeed(undefined)
    : raw === "true" || raw === "false"
      ? Effect.succeed(raw === "true")
      : fail(`--${flag}: must be true or false`)

/** The spellings the API accepts, read the same way (docs/api.md#times). */
const time = (flag: string, raw: string | undefined) =>
  raw === undefined
    ? Effect.succeed(undefined)
    : Option.match(parseTime(raw), {
        onNone: () => fail(`--${flag}: must be epoch milliseconds or an ISO 8601 date-time`),
        onSome: Effect.succeed
      })

const list = <A extends string>(flag: string, raw: string | undefined, allowed: ReadonlyArray<A>) => {
  if (raw === undefined) return Effect.succeed(undefined)
  const items = raw.split(",").map(s => s.trim())
  const bad = items.find(i => !allowed.some(a => a === i))
  return bad === undefined
    ? Effect.succeed(items.flatMap(i => allowed.filter(a => a === i)))
    : fail(`--${flag}: ${JSON.stringify(bad)} is not one of ${allowed.join(", ")}`)
}

// ---- chats

const chatFilterOptions = {
  chatType: Options.text("chat-type").pipe(
    Options.optional,
    Options.withDescription(`Comma-separated: ${CHAT_TYPES.join(", ")}`)
  ),
  unread: Options.text("unread").pipe(Options.optional, Options.withDescription("true or false")),
  pinned: Options.text("pinned").pipe(Options.optional, Options.withDescription("true or false")),
  muted: Options.text("muted").pipe(Options.optional, Options.withDescription("true or false")),
  closed: Options.text("closed").pipe(Options.optional, Options.withDescription("true or false")),
  removed: Options.text("removed").pipe(Options.optional, Options.withDescription("true or false")),
  q: Options.text("q").pipe(Options.optional, Options.withDescription("Case-insensitive substring of the name")),
  modifiedAfter: Options.text("modified-after").pipe(Options.optional, Options.withDescription("ISO 8601 or epoch ms")),
  modifiedBefore: Options.text("modified-before").pipe(
    Options.optional,
    Options.withDescription("ISO 8601 or epoch ms")
  ),
  account: Options.text("account").pipe(Options.optional, Options.withDescription("Only this account's chats"))
}
type ChatFilterInput = {
  readonly [K in keyof typeof chatFilterOptions]: Option.Option<string>
}

const chatUrlParams = (f: ChatFilterInput) =>
  Effect.gen(function* () {
    return {
      chat_type: yield* list("chat-type", optional(f.chatType), CHAT_TYPES),
      unread: yield* bool("unread", optional(f.unread)),
      pinned: yield* bool("pinned", optional(f.pinned)),
      muted: yield* bool("muted", optional(f.muted)),
      closed: yield* bool("closed", optional(f.closed)),
      removed: yield* bool("removed", optional(f.removed)),
      q: optional(f.q),
      modified_after: yield* time("modified-after", optional(f.modifiedAfter)),
      modified_before: yield* time("modified-before", optional(f.modifiedBefore)),
      account_id: optional(f.account)
    }
  })

const defined = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>
  }

interface ChatLike {
  readonly chat_id: string
  readonly name: string
  readonly chat_type: string
  readonly participant_count: number | null
  readonly created_time: string | null
  readonly last_modified_time: string | null
  readonly pinned: boolean
  readonly removed: boolean
  readonly muted: boolean
  readonly closed: boolean
  readonly unread_message_count: number
  readonly account_id: string
  readonly last_message_info: { readonly [k: string]: unknown } | null
}

export const CHAT_CSV_HEADERS = [
  "account_id",
  "chat_id",
  "name",
  "chat_type",
  "participant_count",
  "created_time",
  "last_modified_time",
  "unread_message_count",
  "pinned",
  "muted",
  "closed",
  "removed",
  "last_message_id"
] as const

const chatCells = (c: ChatLike) => [
  c.account_id,
  c.chat_id,
  c.name,
  c.chat_type,
  c.participant_count,
  c.created_time,
  c.last_modified_time,
  c.unread_message_count,
  c.pinned,
  c.muted,
  c.closed,
  c.removed,
  typeof c.last_message_info?.message_id === "string" ? c.last_message_info.message_id : null
]

const chatTable = (rows: ReadonlyArray<ChatLike>) =>
  table(
    ["chat_id", "name", "type", "unread", "last_modified", "account"],
    rows.map(c => [
      c.chat_id,
      c.name.slice(0, 40),
      c.chat_type,
      c.unread_message_count,
      c.last_modified_time,
      c.account_id
    ])
  )

const chatsList = Command.make(
  "list",
  {
    ...conn,
    ...chatFilterOptions,
    limit: Options.integer("limit").pipe(Options.withDefault(50), Options.withDescription("1 to 1000")),
    format: Options.choice("format", ["table", "json", "csv"]).pipe(Options.withDefault("table" as const))
  },
  o =>
    Effect.gen(function* () {
      const filters = yield* chatUrlParams(o)
      const page = yield* withApi(o, api => api.chats.listChats({ urlParams: defined({ ...filters, limit: o.limit }) }))
      const rows = page.data
      if (o.format === "json") return yield* Console.log(JSON.stringify(rows, null, 2))
      if (o.format === "csv")
        return yield* writeOut(`${[csvLine(CHAT_CSV_HEADERS), ...rows.map(r => csvLine(chatCells(r)))].join("\n")}\n`)
      yield* Console.log(chatTable(rows))
      if (page.next_cursor !== null) yield* Console.error(`(first ${rows.length}; more with --limit, or chats export)`)
    })
).pipe(Command.withDescription("Lists mirrored chats (the filters of GET /v1/chats)"))

const chatsExport = Command.make(
  "export",
  {
    ...conn,
    ...chatFilterOptions,
    format: Options.choice("format", ["csv", "jsonl"]).pipe(Options.withDefault("csv" as const))
  },
  o =>
    Effect.gen(function* () {
      const filters = yield* chatUrlParams(o)
      yield* withApi(o, api =>
        Effect.gen(function* () {
          if (o.format === "csv") yield* writeOut(`${csvLine(CHAT_CSV_HEADERS)}\n`)
          let cursor: string | undefined
          do {
            const page = yield* api.chats.listChats({ urlParams: defined({ ...filters, limit: 1000, cursor }) })
            const lines = page.data.map(c => (o.format === "csv" ? csvLine(chatCells(c)) : JSON.stringify(c)))
            if (lines.length > 0) yield* writeOut(`${lines.join("\n")}\n`)
            cursor = page.next_cursor ?? undefined
          } while (cursor !== undefined)
        })
      )
    })
).pipe(Command.withDescription("Streams every matching chat through the keyset cursor, as CSV or JSON lines"))

const chats = Command.make("chats").pipe(
  Command.withDescription("Mirrored chats"),
  Command.withSubcommands([chatsList, chatsExport])
)

// ---- status

const status = Command.make("status", conn, o =>
  withApi(o, api => api.sync.getSyncStatus()).pipe(
    Effect.flatMap(s =>
      Console.log(
        [
          "accounts",
          table(
            ["account", "credentials", "chats", "streams"],
            s.accounts.map(a => [
              a.account_id,
              a.credentials,
              a.chats_mirrored,
              a.streams.map(st => `${st.stream}:${st.status}`).join(" ")
            ])
          ),
          "",
          "queue",
          table(
            ["status", "commands"],
            Object.entries(s.queue).map(([k, n]) => [k, n])
          ),
          "",
          "buckets",
          table(
            ["account", "bucket", "used_60s", "threshold", "locked_until"],
            s.buckets.map(b => [b.account_id, b.bucket, b.used_last_60s, b.threshold, b.locked_until])
          )
        ].join("\n")
      )
    )
  )
).pipe(Command.withDescription("Accounts, sync streams, the command queue and the rate buckets"))

// ---- batches

interface BatchLike {
  readonly batch_id: string
  readonly type: string
  readonly status: string
  readonly counts: Readonly<Record<string, number>>
  readonly progress: number
  readonly eta: string | null
  readonly failures: ReadonlyArray<{
    readonly command_id: string
    readonly chat_id: string | null
    readonly last_error: { readonly code: string } | null
  }>
}

const showBatch = (b: BatchLike) =>
  [
    `batch ${b.batch_id} ${b.type} ${b.status}`,
    progressLine(b),
    ...b.failures.map(f => `failed ${f.command_id} chat ${f.chat_id ?? "-"} ${f.last_error?.code ?? ""}`)
  ].join("\n")

/** Polls the batch until it ends: a redrawn bar on a terminal, one plain line per change otherwise (stderr). */
const follow = (c: Conn, batchId: string, pollMs: number) =>
  withApi(c, api =>
    Effect.gen(function* () {
      const tty = process.stderr.isTTY === true
      let last = ""
      while (true) {
        const view = yield* api.bulk.getBatch({ path: { batch_id: batchId } })
        const line = progressLine(view)
        if (tty) process.stderr.write(`\r\x1b[2K${bar(view.progress)} ${line}`)
        else if (line !== last) process.stderr.write(`progress ${line}\n`)
        last = line
        if (view.status === "finished") {
          if (tty) process.stderr.write("\n")
          return view
        }
        yield* Effect.sleep(pollMs)
      }
    })
  )

const batchId = Args.text({ name: "batch-id" }).pipe(Args.withDescription("The batch id POST /v1/bulk answered"))

const batchesShow = Command.make("show", { ...conn, batchId }, o =>
  withApi(o, api => api.bulk.getBatch({ path: { batch_id: o.batchId } })).pipe(
    Effect.flatMap(b => Console.log(showBatch(b)))
  )
).pipe(Command.withDescription("Counts by status, progress, eta and failures of a batch"))

const batchesCancel = Command.make("cancel", { ...conn, batchId }, o =>
  withApi(o, api => api.bulk.cancelBatch({ path: { batch_id: o.batchId } })).pipe(
    Effect.flatMap(r => Console.log(`cancelled ${r.cancelled} commands of batch ${r.batch_id}`))
  )
).pipe(Command.withDescription("Cancels the commands of a batch that have not started"))

const batchesRetry = Command.make("retry", { ...conn, batchId }, o =>
  withApi(o, api => api.bulk.retryBatch({ path: { batch_id: o.batchId } })).pipe(
    Effect.flatMap(r => Console.log(`retried ${r.retried} failed commands of batch ${r.batch_id}`))
  )
).pipe(Command.withDescription("Puts the failed commands of a batch back in the queue"))

const batches = Command.make("batches").pipe(
  Command.withDescription("Batches of bulk requests"),
  Command.withSubcommands([batchesShow, batchesCancel, batchesRetry])
)

// ---- bulk

const whereValue = (key: string, value: string): unknown =>
  key === "chat_type"
    ? value.split(",").map(s => s.trim())
    : value === "true"
      ? true
      : value === "false"
        ? false
        : value

const paramValue = (key: string, value: string): unknown =>
  key === "user_ids" ? value.split(",").map(s => s.trim()) : value

const bulk = Command.make(
  "bulk",
  {
    ...conn,
    type: Args.choice(
      BULK_TYPES.map(t => [t, t] as const),
      { name: "type" }
    ).pipe(Args.withDescription(BULK_TYPES.join(", "))),
    where: Options.keyValueMap("where").pipe(
      Options.optional,
      Options.withDescription(
        "A /v1/chats filter, key=value, repeatable: unread=true, chat_type=group_chat,channel, q=ops"
      )
    ),
    param: Options.keyValueMap("param").pipe(
      Options.optional,
      Options.withDescription(
        "A parameter of the command, key=value, repeatable: history_status=disabled, user_ids=a,b"
      )
    ),
    account: Options.text("account").pipe(Options.optional, Options.withDescription("Only this account's chats")),
    idempotencyKey: Options.text("idempotency-key").pipe(Options.optional),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Only show what it would do")),
    yes: Options.boolean("yes").pipe(Options.withAlias("y"), Options.withDescription("Do not ask for confirmation")),
    pollMs: Options.integer("poll-ms").pipe(
      Options.withDefault(1000),
      Options.withDescription("Progress poll interval")
    )
  },
  o =>
    Effect.gen(function* () {
      const where = Object.fromEntries(
        [...Option.getOrElse(o.where, () => HashMap.empty<string, string>())].map(([k, v]) => [k, whereValue(k, v)])
      )
      const params = Object.fromEntries(
        [...Option.getOrElse(o.param, () => HashMap.empty<string, string>())].map(([k, v]) => [k, paramValue(k, v)])
      )
      const body = {
        ...params,
        type: o.type,
        where,
        ...defined({ account_id: optional(o.account), idempotency_key: optional(o.idempotencyKey) })
      }
      const preview = yield* withApi(o, api => api.bulk.bulk({ payload: { ...body, dry_run: true } }))
      if (!("sample" in preview)) return yield* fail("bulk: the dry run answered without a preview")
      yield* Console.log(
        [
          `${o.type}: ${preview.matched} chats match; ${preview.upstream_calls} upstream calls; eta ${preview.eta ?? "unknown"}`,
          ...preview.sample.map(c => `  ${c.chat_id}  ${c.name}`),
          ...(preview.matched > preview.sample.length
            ? [`  … and ${preview.matched - preview.sample.length} more`]
            : [])
        ].join("\n")
      )
      if (o.dryRun || preview.matched === 0) return
      if (!o.yes) {
        if (process.stdin.isTTY !== true) return yield* fail("bulk: stdin is not a terminal; pass --yes to run it")
        const go = yield* Prompt.confirm({ message: `Run ${o.type} on ${preview.matched} chats?`, initial: false })
        if (!go) return yield* Console.log("not run")
      }
      const accepted = yield* withApi(o, api => api.bulk.bulk({ payload: body }))
      if (!("batch_id" in accepted)) return yield* fail("bulk: no batch was created")
      yield* Console.log(`batch ${accepted.batch_id}: ${accepted.matched} commands taken in`)
      const done = yield* follow(o, accepted.batch_id, o.pollMs)
      yield* Console.log(`batch ${accepted.batch_id} finished: ${progressLine({ ...done, eta: null })}`)
    })
).pipe(
  Command.withDescription(
    "One command per chat matching --where: shows the dry run, asks, then follows the batch until it ends"
  )
)

// ---- commands

const commandId = Args.text({ name: "command-id" })

interface CommandLike {
  readonly command_id: string
  readonly type: string
  readonly status: string
  readonly chat_id: string | null
  readonly attempts: number
  readonly created_at: string
  readonly eta: string | null
  readonly batch_id: string | null
  readonly last_error: { readonly code: string; readonly message: string } | null
}

const commandCells = (c: CommandLike) => [
  c.command_id,
  c.type,
  c.status,
  c.chat_id,
  c.attempts,
  c.created_at,
  c.eta,
  c.batch_id,
  c.last_error?.code ?? null
]
const COMMAND_HEADERS = [
  "command_id",
  "type",
  "status",
  "chat_id",
  "attempts",
  "created_at",
  "eta",
  "batch_id",
  "error"
]

const commandsList = Command.make(
  "list",
  {
    ...conn,
    status: Options.text("status").pipe(Options.optional, Options.withDescription(COMMAND_STATUSES.join(", "))),
    type: Options.text("type").pipe(Options.optional, Options.withDescription("Comma-separated command types")),
    batch: Options.text("batch").pipe(Options.optional, Options.withDescription("Only this batch's commands")),
    chat: Options.text("chat").pipe(Options.optional, Options.withDescription("Only commands on this chat")),
    createdAfter: Options.text("created-after").pipe(Options.optional),
    createdBefore: Options.text("created-before").pipe(Options.optional),
    account: Options.text("account").pipe(Options.optional),
    limit: Options.integer("limit").pipe(Options.withDefault(50)),
    format: Options.choice("format", ["table", "json", "csv"]).pipe(Options.withDefault("table" as const))
  },
  o =>
    Effect.gen(function* () {
      const urlParams = defined({
        status: yield* list("status", optional(o.status), COMMAND_STATUSES),
        type: yield* list("type", optional(o.type), COMMAND_TYPES),
        batch_id: optional(o.batch),
        chat_id: optional(o.chat),
        created_after: yield* time("created-after", optional(o.createdAfter)),
        created_before: yield* time("created-before", optional(o.createdBefore)),
        account_id: optional(o.account),
        limit: o.limit
      })
      const page = yield* withApi(o, api => api.commands.listCommands({ urlParams }))
      if (o.format === "json") return yield* Console.log(JSON.stringify(page.data, null, 2))
      if (o.format === "csv") {
        return yield* writeOut(
          `${[csvLine(COMMAND_HEADERS), ...page.data.map(c => csvLine(commandCells(c)))].join("\n")}\n`
        )
      }
      yield* Console.log(table(COMMAND_HEADERS, page.data.map(commandCells)))
    })
).pipe(Command.withDescription("Lists commands, newest first (filters of GET /v1/commands)"))

const commandsShow = Command.make("show", { ...conn, commandId }, o =>
  withApi(o, api => api.commands.getCommand({ path: { command_id: o.commandId } })).pipe(
    Effect.flatMap(c => Console.log(JSON.stringify(c, null, 2)))
  )
).pipe(Command.withDescription("One command, with its eta"))

const commandsRetry = Command.make("retry", { ...conn, commandId }, o =>
  withApi(o, api => api.commands.retryCommand({ path: { command_id: o.commandId } })).pipe(
    Effect.flatMap(c => Console.log(`command ${c.command_id} is ${c.status}`))
  )
).pipe(Command.withDescription("Puts a failed command back in the queue"))

const commandsCancel = Command.make("cancel", { ...conn, commandId }, o =>
  withApi(o, api => api.bulk.cancelCommand({ path: { command_id: o.commandId } })).pipe(
    Effect.flatMap(c => Console.log(`command ${c.command_id} is ${c.status}`))
  )
).pipe(Command.withDescription("Cancels a command that has not started"))

const commands = Command.make("commands").pipe(
  Command.withDescription("Queued mutations"),
  Command.withSubcommands([commandsList, commandsShow, commandsRetry, commandsCancel])
)

export const cli = Command.make("cliq-mirror").pipe(
  Command.withDescription("The cliq-mirror API from the command line"),
  Command.withSubcommands([status, chats, bulk, batches, commands])
)
