import { SyncStatusQuery } from "@cliq-mirror/db/SyncStatusQuery"
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Api } from "../Api.js"
import { BudgetStatus } from "../BudgetStatus.js"
import { toSyncStatusDto } from "../Dto/SyncStatus.js"
import { NotReady } from "../Errors.js"

export const SyncLive = HttpApiBuilder.group(Api, "sync", handlers =>
  Effect.gen(function* () {
    const syncStatus = yield* SyncStatusQuery
    const budget = yield* BudgetStatus
    return handlers.handle("getSyncStatus", () =>
      Effect.gen(function* () {
        const snapshot = yield* syncStatus.snapshot()
        const buckets = yield* budget.snapshot(snapshot.accounts.map(a => a.accountId))
        return toSyncStatusDto(snapshot, buckets)
      }).pipe(
        Effect.catchTags({
          DbError: Effect.die,
          BudgetUnavailable: () => Effect.fail(NotReady.of("rate budget unavailable: redis is not answering"))
        })
      )
    )
  })
)
