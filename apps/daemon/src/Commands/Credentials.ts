import { type Account, credentialsFingerprint, makeTokenStore } from "@cliq-mirror/core"
import { Effect, Option } from "effect"
import { RedisPrefix } from "../RedisConfig.js"
import { CommandQueue } from "./CommandQueue.js"

/**
 * Whether an account's refresh token was refused and its configured credentials are still those (the mark the token
 * provider leaves in Redis): its commands wait instead of spending slots on calls that cannot be authorised.
 */
export class Credentials extends Effect.Service<Credentials>()("@cliq-mirror/daemon/Credentials", {
  effect: Effect.gen(function* () {
    const queue = yield* CommandQueue
    const prefix = yield* RedisPrefix
    const store = makeTokenStore(queue.connection, `${prefix}auth:`)
    const revoked = (account: Account) =>
      account.auth._tag === "Static"
        ? Effect.succeed(false)
        : store.readReauth(account.id).pipe(
            Effect.map(mark => Option.exists(mark, m => m.fingerprint === credentialsFingerprint(account.auth))),
            // Unknown is not revoked: the attempt itself finds out.
            Effect.orElseSucceed(() => false)
          )
    return { revoked } as const
  })
}) {}
