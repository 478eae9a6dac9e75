import { type ConfigError, Context, Data, Effect, Layer, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import { RedisUrl } from "../../Settings.js"

export class TokenStoreError extends Data.TaggedError("TokenStoreError")<{ readonly cause: unknown }> {}

export interface CachedToken {
  readonly token: string
  /** Epoch ms. */
  readonly expiresAt: number
  readonly fingerprint: string
}

export interface ReauthMark {
  readonly reason: string
  readonly fingerprint: string
  /** Epoch ms. */
  readonly since: number
}

export type MintAdmission =
  | { readonly ok: true }
  | { readonly ok: false; readonly why: "quota" | "interval"; readonly retryAt: number }

export interface MintPolicy {
  readonly windowMs: number
  readonly max: number
  readonly minIntervalMs: number
  /** Skip the minimum interval (a 401, or no usable token at all); the quota always applies. */
  readonly force: boolean
}

/** The access-token state every process of one deployment shares: cached token, refresh lock, mint counters. */
export interface TokenStoreShape {
  readonly readToken: (accountId: string) => Effect.Effect<Option.Option<CachedToken>, TokenStoreError>
  readonly writeToken: (accountId: string, token: CachedToken, ttlMs: number) => Effect.Effect<void, TokenStoreError>
  readonly deleteToken: (accountId: string) => Effect.Effect<void, TokenStoreError>
  readonly tryLock: (accountId: string, owner: string, ttlMs: number) => Effect.Effect<boolean, TokenStoreError>
  readonly unlock: (accountId: string, owner: string) => Effect.Effect<void, TokenStoreError>
  readonly isLocked: (accountId: string) => Effect.Effect<boolean, TokenStoreError>
  readonly admitMint: (fingerprint: string, policy: MintPolicy) => Effect.Effect<MintAdmission, TokenStoreError>
  readonly blockMints: (fingerprint: string, forMs: number) => Effect.Effect<void, TokenStoreError>
  readonly readReauth: (accountId: string) => Effect.Effect<Option.Option<ReauthMark>, TokenStoreError>
  readonly markReauth: (accountId: string, mark: ReauthMark) => Effect.Effect<void, TokenStoreError>
  readonly clearReauth: (accountId: string) => Effect.Effect<void, TokenStoreError>
}

const UNLOCK = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`

// Mint attempts per refresh token in a sliding window (Zoho: 10 per 10 minutes), timed by the Redis clock so that
// every process agrees. A quota refusal from Zoho blocks minting for a whole window via the block key.
const ADMIT = `
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, max, interval, force = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == "1"
local blocked = redis.call("PTTL", KEYS[2])
if blocked > 0 then return {0, "quota", now + blocked} end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - window)
if redis.call("ZCARD", KEYS[1]) >= max then
  local oldest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
  return {0, "quota", tonumber(oldest[2]) + window}
end
if not force then
  local last = redis.call("ZREVRANGE", KEYS[1], 0, 0, "WITHSCORES")
  if last[2] and now - tonumber(last[2]) < interval then return {0, "interval", tonumber(last[2]) + interval} end
end
redis.call("ZADD", KEYS[1], now, now .. ":" .. ARGV[5])
redis.call("PEXPIRE", KEYS[1], window)
return {1, "ok", now}
`

const parseJson = <A>(raw: string | null): Option.Option<A> => {
  if (raw === null) return Option.none()
  try {
    return Option.some(JSON.parse(raw) as A)
  } catch {
    return Option.none()
  }
}

export const makeTokenStore = (redis: Redis, prefix: string): TokenStoreShape => {
  const use = <A>(f: (r: Redis) => Promise<A>) =>
    Effect.tryPromise({ try: () => f(redis), catch: cause => new TokenStoreError({ cause }) })
  const key = {
    token: (id: string) => `${prefix}token:${id}`,
    lock: (id: string) => `${prefix}token_lock:${id}`,
    reauth: (id: string) => `${prefix}needs_reauth:${id}`,
    mints: (fp: string) => `${prefix}token_mints:${fp}`,
    block: (fp: string) => `${prefix}token_mint_block:${fp}`
  }
  return {
    readToken: id => use(r => r.get(key.token(id))).pipe(Effect.map(raw => parseJson<CachedToken>(raw))),
    writeToken: (id, token, ttlMs) =>
      use(r => r.set(key.token(id), JSON.stringify(token), "PX", Math.max(1, Math.round(ttlMs)))),
    deleteToken: id => use(r => r.del(key.token(id))),
    tryLock: (id, owner, ttlMs) =>
      use(r => r.set(key.lock(id), owner, "PX", Math.max(1, Math.round(ttlMs)), "NX")).pipe(
        Effect.map(reply => reply === "OK")
      ),
    unlock: (id, owner) => use(r => r.eval(UNLOCK, 1, key.lock(id), owner)),
    isLocked: id => use(r => r.exists(key.lock(id))).pipe(Effect.map(n => n > 0)),
    admitMint: (fp, policy) =>
      use(r =>
        r.eval(
          ADMIT,
          2,
          key.mints(fp),
          key.block(fp),
          Math.round(policy.windowMs),
          policy.max,
          Math.round(policy.minIntervalMs),
          policy.force ? "1" : "0",
          Math.random().toString(36).slice(2)
        )
      ).pipe(
        Effect.map((reply): MintAdmission => {
          const [ok, why, at] = reply as [number, string, number]
          return ok === 1 ? { ok: true } : { ok: false, why: why === "interval" ? "interval" : "quota", retryAt: at }
        })
      ),
    blockMints: (fp, forMs) => use(r => r.set(key.block(fp), "1", "PX", Math.max(1, Math.round(forMs)))),
    readReauth: id => use(r => r.get(key.reauth(id))).pipe(Effect.map(raw => parseJson<ReauthMark>(raw))),
    markReauth: (id, mark) => use(r => r.set(key.reauth(id), JSON.stringify(mark))),
    clearReauth: id => use(r => r.del(key.reauth(id)))
  }
}

export const DEFAULT_KEY_PREFIX = "cliq-mirror:"

export class TokenStore extends Context.Tag("@cliq-mirror/core/TokenStore")<TokenStore, TokenStoreShape>() {
  /** Over an ioredis connection someone else owns (e.g. the one the rate budget uses). */
  static readonly fromRedis = (redis: Redis, prefix = DEFAULT_KEY_PREFIX): Layer.Layer<TokenStore> =>
    Layer.succeed(TokenStore, makeTokenStore(redis, prefix))

  /** Opens its own connection for the lifetime of the layer. */
  static readonly layer = (options: {
    readonly url: Redacted.Redacted<string> | string
    readonly prefix?: string
  }): Layer.Layer<TokenStore, TokenStoreError> =>
    Layer.scoped(
      TokenStore,
      Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const url = typeof options.url === "string" ? options.url : Redacted.value(options.url)
            const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 5_000 })
            // A failed first connect would otherwise keep reconnecting in the background.
            await redis.connect().catch(error => {
              redis.disconnect()
              throw error
            })
            return redis
          },
          catch: cause => new TokenStoreError({ cause })
        }),
        redis => Effect.promise(() => redis.quit().catch(() => redis.disconnect()))
      ).pipe(Effect.map(redis => makeTokenStore(redis, options.prefix ?? DEFAULT_KEY_PREFIX)))
    )

  static readonly Default: Layer.Layer<TokenStore, TokenStoreError | ConfigError.ConfigError> = Layer.unwrapEffect(
    Effect.map(RedisUrl, url => TokenStore.layer({ url }))
  )
}
