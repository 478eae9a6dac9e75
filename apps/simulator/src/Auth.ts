import { randomBytes } from "node:crypto"
import { type OAuthScope, type Operation, ZOHO_TOKEN_LIMITS as TOKEN_LIMITS } from "@cliq-mirror/core"
import { DEFAULT_CLIENT_ID, type RefreshTokenConfig } from "./Options.js"
import { json, type Reply } from "./Replies.js"

export const ALL_SCOPES: ReadonlyArray<OAuthScope> = [
  "ZohoCliq.Chats.READ",
  "ZohoCliq.Chats.CREATE",
  "ZohoCliq.Chats.UPDATE",
  "ZohoCliq.Chats.DELETE",
  "ZohoCliq.Messages.UPDATE"
]

export interface AccessTokenRecord {
  readonly token: string
  readonly userIndex: number
  readonly scopes: ReadonlySet<OAuthScope>
  readonly issuedAtMs: number
  /** `null` = never expires (static tokens). */
  readonly expiresAtMs: number | null
  readonly source: "static" | "issued" | "refresh"
  /** The OAuth client the token belongs to: client-scoped buckets count per client. */
  readonly clientId: string
  readonly refreshToken: string | undefined
  revoked: boolean
}

interface RefreshState {
  readonly config: RefreshTokenConfig
  mints: Array<number>
  live: Array<AccessTokenRecord>
  revoked: boolean
}

export interface IssueTokenInput {
  readonly userIndex: number
  readonly scopes?: ReadonlyArray<OAuthScope>
  /** Real seconds (not scaled); omitted = never expires. */
  readonly lifetimeSeconds?: number
  /** Issue a token that is already expired. */
  readonly expired?: boolean
  /** Use this exact token string instead of a random one. */
  readonly token?: string
  /** The OAuth client it belongs to (default: the simulator's client). */
  readonly clientId?: string
}

const HEADER = /^(?:Zoho-oauthtoken|Bearer)\s+(\S+)\s*$/i

const randomToken = () => `1000.${randomBytes(16).toString("hex")}.${randomBytes(16).toString("hex")}`

const oauthError = (error: string, description?: string): Reply =>
  json(description ? { error, error_description: description } : { error })

export class Auth {
  readonly tokens = new Map<string, AccessTokenRecord>()
  private readonly refresh = new Map<string, RefreshState>()

  constructor(
    staticTokens: ReadonlyArray<string>,
    refreshTokens: ReadonlyArray<RefreshTokenConfig>,
    private readonly lifetimeMs: number,
    private readonly mintWindowMs: number,
    public apiDomain: string
  ) {
    staticTokens.forEach((token, userIndex) => {
      this.tokens.set(token, {
        token,
        userIndex,
        scopes: new Set(ALL_SCOPES),
        issuedAtMs: 0,
        expiresAtMs: null,
        source: "static",
        clientId: DEFAULT_CLIENT_ID,
        refreshToken: undefined,
        revoked: false
      })
    })
    for (const config of refreshTokens) {
      this.refresh.set(config.refreshToken, { config, mints: [], live: [], revoked: false })
    }
  }

  /** docs/upstream.md#sim-auth: `Zoho-oauthtoken <t>` or `Bearer <t>`; unknown, expired or revoked tokens authenticate nobody. */
  authenticate(header: string | undefined, now: number): AccessTokenRecord | undefined {
    const match = header ? HEADER.exec(header) : null
    const record = match ? this.tokens.get(match[1]!) : undefined
    return record && this.alive(record, now) ? record : undefined
  }

  private alive(record: AccessTokenRecord, now: number): boolean {
    return !record.revoked && (record.expiresAtMs === null || now < record.expiresAtMs)
  }

  allows(record: AccessTokenRecord, operation: Operation): boolean {
    return operation.scopes.some(scope => record.scopes.has(scope))
  }

  issue(input: IssueTokenInput, now: number): AccessTokenRecord {
    const record: AccessTokenRecord = {
      token: input.token ?? randomToken(),
      userIndex: input.userIndex,
      scopes: new Set(input.scopes ?? ALL_SCOPES),
      issuedAtMs: now,
      expiresAtMs: input.expired
        ? now - 1
        : input.lifetimeSeconds === undefined
          ? null
          : now + input.lifetimeSeconds * 1000,
      source: "issued",
      clientId: input.clientId ?? DEFAULT_CLIENT_ID,
      refreshToken: undefined,
      revoked: false
    }
    this.tokens.set(record.token, record)
    return record
  }

  revoke(token: string): boolean {
    const record = this.tokens.get(token)
    if (!record || record.revoked) return false
    record.revoked = true
    return true
  }

  /**
   * POST /oauth/v2/token, refresh_token grant (docs/upstream.md#sim-token-endpoint). Zoho Accounts answers refusals with HTTP 200 and an
   * `error` body; the simulator does the same for every refusal.
   */
  mint(params: URLSearchParams, now: number): Reply {
    if (params.get("grant_type") !== "refresh_token") return oauthError("unsupported_grant_type")
    const clientId = params.get("client_id") ?? ""
    const clientSecret = params.get("client_secret") ?? ""
    const clientKnown = [...this.refresh.values()].some(
      s => s.config.clientId === clientId && s.config.clientSecret === clientSecret
    )
    if (!clientKnown) return oauthError("invalid_client")
    const state = this.refresh.get(params.get("refresh_token") ?? "")
    if (!state || state.revoked || state.config.clientId !== clientId) return oauthError("invalid_code")
    state.mints = state.mints.filter(t => t > now - this.mintWindowMs)
    if (state.mints.length >= TOKEN_LIMITS.mintsPerWindow) {
      return oauthError(
        "Access Denied",
        "You have made too many requests continuously. Please try again after some time."
      )
    }
    state.mints.push(now)
    const record: AccessTokenRecord = {
      token: randomToken(),
      userIndex: state.config.userIndex,
      scopes: new Set(state.config.scopes ?? ALL_SCOPES),
      issuedAtMs: now,
      expiresAtMs: now + this.lifetimeMs,
      source: "refresh",
      clientId: state.config.clientId,
      refreshToken: state.config.refreshToken,
      revoked: false
    }
    this.tokens.set(record.token, record)
    state.live = state.live.filter(r => this.alive(r, now))
    state.live.push(record)
    while (state.live.length > TOKEN_LIMITS.liveTokens) state.live.shift()!.revoked = true
    return json({
      access_token: record.token,
      api_domain: this.apiDomain,
      token_type: "Bearer",
      expires_in: Math.max(1, Math.round(this.lifetimeMs / 1000))
    })
  }

  /** POST /oauth/v2/token/revoke?token=<refresh token>: the refresh token and every access token it minted die. */
  revokeRefresh(token: string): Reply {
    const state = this.refresh.get(token)
    if (!state || state.revoked) return oauthError("invalid_code")
    state.revoked = true
    for (const record of state.live) record.revoked = true
    return json({ status: "success" })
  }
}
