import { loadAccounts } from "@cliq-mirror/core"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Option } from "effect"
import { AccountsFile, SingleAccountId } from "./Config.js"

/**
 * The accounts the daemon serves, as far as the API can tell: the accounts file when CLIQ_ACCOUNTS_FILE is set (a
 * broken file stops the API, as it stops the daemon), else the single account CLIQ_ACCOUNT_ID. The API may run without
 * the upstream credentials; then client-scoped rate buckets are keyed by the account id (right for static tokens).
 */
export class ApiAccounts extends Effect.Service<ApiAccounts>()("@cliq-mirror/api/ApiAccounts", {
  effect: Effect.gen(function* () {
    const file = yield* AccountsFile
    const loaded = Option.isSome(file)
      ? Option.some(yield* loadAccounts)
      : yield* loadAccounts.pipe(
          Effect.tapError(error => Effect.logDebug("accounts configuration not readable by the API", error.message)),
          Effect.option
        )
    const ids: ReadonlyArray<string> = Option.match(loaded, {
      onSome: accounts => accounts.map(a => a.id),
      onNone: () => []
    })
    const all = ids.length > 0 ? ids : [yield* SingleAccountId]
    const clientKeys: ReadonlyMap<string, string> = new Map(
      Option.getOrElse(
        Option.map(loaded, accounts => accounts.map(a => [a.id, a.clientKey] as const)),
        () => []
      )
    )
    const known = new Set(all)
    const clientKey = (accountId: string) => clientKeys.get(accountId) ?? accountId
    return {
      /** Where a command without account_id goes: the single account, or the first of the file. */
      defaultAccount: all[0]!,
      all,
      isKnown: (accountId: string) => known.has(accountId),
      clientKeys,
      clientKey,
      /** Configured accounts counted against the same OAuth client (client-scoped buckets), this one included. */
      sameClient: (accountId: string) => {
        const key = clientKey(accountId)
        const peers = all.filter(id => clientKey(id) === key)
        return peers.includes(accountId) ? peers : [accountId, ...peers]
      }
    } as const
  }),
  dependencies: [NodeFileSystem.layer]
}) {}
