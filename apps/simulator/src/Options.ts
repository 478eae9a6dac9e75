import { BUCKETS, type BucketTable, type OAuthScope, scaleBuckets } from "@cliq-mirror/core"

export interface RefreshTokenConfig {
  readonly refreshToken: string
  readonly clientId: string
  readonly clientSecret: string
  readonly userIndex: number
  /** Scopes of the access tokens it mints; default: every Chats scope. */
  readonly scopes?: ReadonlyArray<OAuthScope>
}

export interface SimulatorOptions {
  readonly chats?: number
  readonly users?: number
  readonly seed?: number
  readonly tokens?: ReadonlyArray<string>
  readonly timeScale?: number
  readonly throttleShape?: "429" | "400"
  readonly control?: boolean
  /** Unscaled bucket table (default BUCKETS); `timeScale` shrinks its windows and locks. */
  readonly buckets?: BucketTable
  readonly responseTimes?: "offset" | "utc"
  readonly chatIdStyle?: "numeric" | "ct"
  readonly refreshTokens?: ReadonlyArray<RefreshTokenConfig>
  readonly accessTokenLifetimeSeconds?: number
  readonly participantCap?: number
  /** Seeded times end at this instant (default 2026-01-01T00:00:00Z), so the same seed gives the same data. */
  readonly seedEndMs?: number
  /** Seeded chats whose last message shares one exact millisecond (default 2 % of chats, at most 60). */
  readonly sameMsBurst?: number
  /** Seeded chats whose last message falls in one second (default 3 % of chats, at most 90). */
  readonly sameSecondBurst?: number
  /** How long a "timeout" fault holds the socket before destroying it, unless the fault says otherwise. */
  readonly defaultHoldMs?: number
  /** Entries kept in the request log (oldest dropped first). */
  readonly requestLogLimit?: number
}

export interface ResolvedOptions {
  readonly chats: number
  readonly users: number
  readonly seed: number
  readonly tokens: ReadonlyArray<string>
  readonly timeScale: number
  readonly throttleShape: "429" | "400"
  readonly control: boolean
  readonly buckets: BucketTable
  readonly scaledBuckets: BucketTable
  readonly responseTimes: "offset" | "utc"
  readonly chatIdStyle: "numeric" | "ct"
  readonly refreshTokens: ReadonlyArray<RefreshTokenConfig>
  readonly accessTokenLifetimeSeconds: number
  readonly participantCap: number
  readonly seedEndMs: number
  readonly sameMsBurst: number
  readonly sameSecondBurst: number
  readonly defaultHoldMs: number
  readonly requestLogLimit: number
}

export const DEFAULT_CLIENT_ID = "sim-client-id"
export const DEFAULT_CLIENT_SECRET = "sim-client-secret"
/** docs/upstream.md#sim-members: participant cap is configurable, default 1,000. */
const DEFAULT_PARTICIPANT_CAP = 1000
const DEFAULT_SEED_END_MS = Date.UTC(2026, 0, 1)

const defaultTokens = (users: number) => Array.from({ length: users }, (_, i) => `sim-token-${i + 1}`)

const defaultRefreshTokens = (users: number): ReadonlyArray<RefreshTokenConfig> =>
  Array.from({ length: users }, (_, i) => ({
    refreshToken: `sim-refresh-${i + 1}`,
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    userIndex: i
  }))

export const resolveOptions = (options: SimulatorOptions): ResolvedOptions => {
  const users = options.users ?? options.tokens?.length ?? 3
  const chats = options.chats ?? 1000
  const timeScale = options.timeScale ?? 1
  const buckets = options.buckets ?? BUCKETS
  const tokens = options.tokens ?? defaultTokens(users)
  if (!Number.isInteger(users) || users < 1) throw new Error("users must be an integer ≥ 1")
  if (!Number.isInteger(chats) || chats < 0) throw new Error("chats must be an integer ≥ 0")
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new Error("timeScale must be a finite number > 0")
  if (tokens.length !== users) throw new Error(`tokens must list exactly one token per user (${users})`)
  if (new Set(tokens).size !== tokens.length) throw new Error("tokens must not repeat a token")
  const refreshTokens = options.refreshTokens ?? defaultRefreshTokens(users)
  const stray = refreshTokens.find(r => !Number.isInteger(r.userIndex) || r.userIndex < 0 || r.userIndex >= users)
  if (stray)
    throw new Error(`refresh token ${stray.refreshToken} names userIndex ${stray.userIndex}, not a seeded user`)
  return {
    chats,
    users,
    seed: options.seed ?? 42,
    tokens,
    timeScale,
    throttleShape: options.throttleShape ?? "429",
    control: options.control ?? false,
    buckets,
    scaledBuckets: scaleBuckets(buckets, timeScale),
    responseTimes: options.responseTimes ?? "offset",
    chatIdStyle: options.chatIdStyle ?? "numeric",
    refreshTokens,
    accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? 3600,
    participantCap: options.participantCap ?? DEFAULT_PARTICIPANT_CAP,
    seedEndMs: options.seedEndMs ?? DEFAULT_SEED_END_MS,
    sameMsBurst: options.sameMsBurst ?? Math.min(60, Math.floor(chats * 0.02)),
    sameSecondBurst: options.sameSecondBurst ?? Math.min(90, Math.floor(chats * 0.03)),
    defaultHoldMs: options.defaultHoldMs ?? 30_000,
    requestLogLimit: options.requestLogLimit ?? 200_000
  }
}
