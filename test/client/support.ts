import { randomBytes } from "node:crypto"
import { type AddressInfo, createServer } from "node:net"
import { type Account, AccountId, makeAccount } from "@cliq-mirror/core/Accounts/Account"
import { TokenStore } from "@cliq-mirror/core/Cliq/Auth/TokenStore"
import { CliqClient, CliqClientConfig, type CliqClientOptions } from "@cliq-mirror/core/Cliq/CliqClient"
import { type RunningSimulator, type SimulatorOptions, startSimulator } from "@cliq-mirror/simulator"
import { NodeHttpClient } from "@effect/platform-node"
import { Context, Effect, Layer, List, Logger, LogLevel, Redacted } from "effect"
import { testRedisUrl } from "../support/redis.js"

export class Sim extends Context.Tag("test/client/Sim")<Sim, RunningSimulator>() {}

export const simLayer = (options: SimulatorOptions = {}) =>
  Layer.scoped(
    Sim,
    Effect.acquireRelease(
      Effect.promise(() => startSimulator({ chats: 60, users: 3, seed: 7, control: true, ...options })),
      sim => Effect.promise(() => sim.close())
    )
  )

/** A fresh client (own HTTP agent, own Redis connection) over the shared Redis key prefix. */
export const clientLayer = (prefix: string, options: Partial<CliqClientOptions> = {}) =>
  CliqClient.DefaultWithoutDependencies.pipe(
    Layer.provide(
      Layer.mergeAll(
        NodeHttpClient.layerUndici,
        CliqClientConfig.layer(options),
        TokenStore.layer({ url: testRedisUrl(), prefix }).pipe(Layer.orDie)
      )
    ),
    Layer.fresh
  )

export const uniqueId = (label: string) => AccountId.make(`${label}-${randomBytes(4).toString("hex")}`)
export const uniquePrefix = () => `test:client:${randomBytes(5).toString("hex")}:`

export const staticAccount = (sim: RunningSimulator, token: string, overrides: Partial<Account> = {}): Account => ({
  ...makeAccount({
    id: uniqueId("static"),
    auth: { _tag: "Static", token: Redacted.make(token) },
    baseUrl: sim.apiBaseUrl,
    accountsUrl: sim.accountsUrl
  }),
  ...overrides
})

export const refreshAccount = (
  sim: RunningSimulator,
  credentials: { readonly refreshToken: string; readonly clientId: string; readonly clientSecret: string },
  id: AccountId = uniqueId("refresh")
): Account =>
  makeAccount({
    id,
    auth: {
      _tag: "Refresh",
      clientId: credentials.clientId,
      clientSecret: Redacted.make(credentials.clientSecret),
      refreshToken: Redacted.make(credentials.refreshToken)
    },
    baseUrl: sim.apiBaseUrl,
    accountsUrl: sim.accountsUrl
  })

/** Requests the simulator received after `sinceSeq`, for one operation id (or the token endpoint: "oauthToken"). */
export const requestsOf = (sim: RunningSimulator, operationId: string, sinceSeq = 0) =>
  sim.state.requests(sinceSeq).filter(r => r.operationId === operationId)

export const lastSeq = (sim: RunningSimulator) => sim.state.requests().at(-1)?.seq ?? 0

/** A port nothing listens on: bind, read the port, close. */
export const closedPort = Effect.promise(
  () =>
    new Promise<number>(resolve => {
      const server = createServer()
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        server.close(() => resolve(port))
      })
    })
)

/** Runs `effect` with every log line (all levels, annotations and causes included) rendered into `lines`. */
export const captureLogs =
  (lines: Array<string>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provide(
        Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ message, annotations, cause, spans }) => {
            lines.push(
              JSON.stringify({
                message,
                annotations: Object.fromEntries(annotations),
                spans: List.toArray(spans).map(s => s.label),
                cause: String(cause)
              })
            )
          })
        )
      ),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
