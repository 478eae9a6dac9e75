import { createServer } from "node:http"
import { CommandsRepo } from "@cliq-mirror/db"
import { BatchesRepo } from "@cliq-mirror/db/BatchesRepo"
import { ChatsQuery } from "@cliq-mirror/db/ChatsQuery"
import { CommandsQuery } from "@cliq-mirror/db/CommandsQuery"
import { EventsFeed } from "@cliq-mirror/db/EventsFeed"
import { SyncStatusQuery } from "@cliq-mirror/db/SyncStatusQuery"
import { HttpApiBuilder, HttpApiSwagger, HttpMiddleware, HttpRouter, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Layer } from "effect"
import { ApiAccounts } from "./Accounts.js"
import { Api } from "./Api.js"
import { AuthorizationLive } from "./Auth.js"
import { BudgetStatusLive } from "./BudgetStatus.js"
import { CommandEta } from "./CommandEta.js"
import { ApiHost, ApiPort } from "./Config.js"
import { EdgeLive } from "./Edge.js"
import { BulkLive } from "./Http/Bulk.js"
import { ChatsLive } from "./Http/Chats.js"
import { CommandsLive } from "./Http/Commands.js"
import { EventsLive } from "./Http/Events.js"
import { OpsLive } from "./Http/Ops.js"
import { StatusPageLive } from "./Http/Status.js"
import { SyncLive } from "./Http/Sync.js"
import { IntakeBatcher } from "./IntakeBatcher.js"

const GroupsLive = Layer.mergeAll(OpsLive, ChatsLive, EventsLive, SyncLive, CommandsLive, BulkLive).pipe(
  Layer.provide([CommandEta.Default, IntakeBatcher.Default]),
  Layer.provide([
    ApiAccounts.Default,
    BatchesRepo.DefaultWithoutDependencies,
    ChatsQuery.DefaultWithoutDependencies,
    CommandsQuery.DefaultWithoutDependencies,
    CommandsRepo.Default,
    EventsFeed.DefaultWithoutDependencies,
    SyncStatusQuery.DefaultWithoutDependencies,
    AuthorizationLive
  ])
)

/**
 * The API on whichever HttpServer is provided (tests use `NodeHttpServer.layerTest`). Needs Database, Redis,
 * BudgetStatus and the API_TOKEN setting, and uses the RateBudget for command etas when one is provided.
 * No access log line per request (HttpMiddleware.logger cost ~15 % of the request rate): /metrics counts requests by
 * route and status, and the edge logs every failure. Nothing exports traces, so request spans are not built either.
 */
export const ApiHttpLive = HttpApiBuilder.serve().pipe(
  HttpMiddleware.withTracerDisabledWhen(() => true),
  Layer.provide([
    HttpApiSwagger.layer({ path: "/docs" }),
    HttpApiBuilder.middlewareOpenApi(),
    EdgeLive,
    StatusPageLive
  ]),
  Layer.provide(HttpApiBuilder.api(Api).pipe(Layer.provide(GroupsLive))),
  // find-my-way refuses params over 100 characters with a bare 404; let the schema's 128 limit answer instead.
  Layer.provide(HttpRouter.setRouterConfig({ maxParamLength: 1024 })),
  HttpServer.withLogAddress
)

export const ApiServerLive = NodeHttpServer.layerConfig(createServer, { host: ApiHost, port: ApiPort })

/**
 * The API bound to API_HOST:API_PORT. Needs Database, Redis and RateBudget, so `npm start` can share them with the
 * daemon; `npm run api` provides its own (see main.ts).
 */
export const ApiLive = ApiHttpLive.pipe(Layer.provide([ApiServerLive, BudgetStatusLive]))
