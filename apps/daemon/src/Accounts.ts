import { type Account, loadAccounts } from "@cliq-mirror/core"
import { MirrorWriter } from "@cliq-mirror/db"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect } from "effect"

/** The configured accounts, loaded once at start; each gets its row so its data has an owner. */
export class Accounts extends Effect.Service<Accounts>()("@cliq-mirror/daemon/Accounts", {
  effect: Effect.gen(function* () {
    const all: ReadonlyArray<Account> = yield* loadAccounts
    const writer = yield* MirrorWriter
    for (const account of all) yield* writer.ensureAccount(account.id)
    const byId = new Map(all.map(a => [a.id as string, a]))
    return { all, get: (id: string) => byId.get(id) } as const
  }),
  dependencies: [NodeFileSystem.layer]
}) {}
