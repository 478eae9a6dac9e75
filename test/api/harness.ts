import { Database, type Db, makeDatabase, type Sql, schema } from "@cliq-mirror/db"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import { ApiRateBudgetLive, BudgetStatusLive } from "../../apps/api/src/BudgetStatus.js"
import { ApiHttpLive } from "../../apps/api/src/Http.js"
import { makeRedis, Redis } from "../../apps/api/src/Redis.js"
import { DatabaseTest, testConfig } from "../support/layers.js"
import { testRedisUrl, uniqueRedisPrefix } from "../support/redis.js"

export const TOKEN = "test-token-one"
export const OTHER_TOKEN = "test-token-two"

export { DatabaseTest, testConfig as configLayer } from "../support/layers.js"

export const redisLayer = (url: string) =>
  Layer.scoped(Redis, Effect.map(makeRedis({ url: Redacted.make(url) }), Redis.make))

/**
 * The API on a random port against a fresh migrated database and the test Redis. Provides the HttpClient aimed at
 * it, the Database (to seed rows) and TestDatabaseUrl.
 */
export const databaseAt = (url: string) =>
  Layer.scoped(Database, Effect.map(makeDatabase({ url: Redacted.make(url) }), Database.make))

export interface ApiTestOptions {
  /** REDIS_PREFIX, under which the rate budget is read (default: a fresh one). */
  readonly redisPrefix?: string
  /** Another Redis, e.g. a closed port to play an outage. */
  readonly redisUrl?: string
}

const serve = (options: ApiTestOptions) =>
  ApiHttpLive.pipe(
    Layer.provide(BudgetStatusLive),
    Layer.provide(ApiRateBudgetLive),
    Layer.provide(redisLayer(options.redisUrl ?? testRedisUrl())),
    Layer.provideMerge(NodeHttpServer.layerTest)
  )

const settings = (options: ApiTestOptions) =>
  Layer.merge(
    testConfig({
      API_TOKEN: ` ${TOKEN}, ,${OTHER_TOKEN} `,
      REDIS_PREFIX: options.redisPrefix ?? uniqueRedisPrefix("api")
    }),
    Logger.minimumLogLevel(LogLevel.Warning)
  )

/**
 * The API on a random port against a fresh migrated database and the test Redis. Provides the HttpClient aimed at
 * it, the Database (to seed rows) and TestDatabaseUrl.
 */
export const apiTestLayer = (options: ApiTestOptions = {}) =>
  serve(options).pipe(Layer.provideMerge(DatabaseTest), Layer.provide(settings(options)))

/** The API against another Postgres (no test database), e.g. a closed port for outage tests. */
export const apiTestLayerAt = (options: ApiTestOptions & { readonly databaseUrl: string }) =>
  serve(options).pipe(Layer.provideMerge(databaseAt(options.databaseUrl)), Layer.provide(settings(options)))

export interface Reply {
  readonly status: number
  readonly body: unknown
  readonly text: string
  readonly contentType: string
}

/** A raw request, to assert on status and envelope rather than through the typed client. */
export const request = (
  path: string,
  options: {
    readonly token?: string | null
    readonly method?: "GET" | "POST"
    /** JSON-encoded as the body. */
    readonly body?: unknown
    /** Sent as the body as it is (malformed JSON, oversized bodies). */
    readonly raw?: string
  } = {}
) =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const token = options.token === undefined ? TOKEN : options.token
    let req = options.method === "POST" ? HttpClientRequest.post(path) : HttpClientRequest.get(path)
    if (options.raw !== undefined) req = HttpClientRequest.bodyText(req, options.raw, "application/json")
    else if (options.body !== undefined) {
      req = HttpClientRequest.bodyText(req, JSON.stringify(options.body), "application/json")
    }
    const response = yield* client.execute(token === null ? req : HttpClientRequest.bearerToken(req, token))
    const text = yield* response.text
    const contentType = response.headers["content-type"] ?? ""
    return {
      status: response.status,
      text,
      contentType,
      body: contentType.includes("json") && text !== "" ? (JSON.parse(text) as unknown) : text
    } satisfies Reply
  }).pipe(Effect.scoped, Effect.orDie)

export const send = (
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  options: { readonly token?: string | null; readonly raw?: string } = {}
) => request(path, { ...options, method, ...(body === undefined ? {} : { body }) })

export type ChatInsert = typeof schema.chats.$inferInsert

export const chatRow = (accountId: string, chatId: string, fields: Partial<ChatInsert> = {}): ChatInsert => ({
  accountId,
  chatId,
  name: `chat ${chatId}`,
  chatType: "group_chat",
  raw: { chat_id: chatId },
  ...fields
})

export const insertChats = (rows: ReadonlyArray<ChatInsert>) =>
  Effect.flatMap(Database, db => db.use(d => d.insert(schema.chats).values([...rows]))).pipe(Effect.orDie)

export const exec = <A>(f: (db: Db, sql: Sql) => Promise<A>) =>
  Effect.flatMap(Database, database => database.use(f)).pipe(Effect.orDie)
