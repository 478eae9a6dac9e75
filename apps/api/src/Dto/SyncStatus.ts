import { COMMAND_STATUSES } from "@cliq-mirror/core"
import type { StreamStatus, SyncSnapshot } from "@cliq-mirror/db/SyncStatusQuery"
import { Schema } from "effect"
import { iso } from "./Chat.js"

export interface BucketUsage {
  readonly accountId: string
  readonly bucket: string
  readonly threshold: number
  readonly usedInWindow: number
  readonly lockedUntil: Date | null
}

const StreamDto = Schema.Struct({
  stream: Schema.String,
  status: Schema.String,
  high_water_mark: Schema.NullOr(Schema.String),
  last_run_at: Schema.NullOr(Schema.String),
  last_success_at: Schema.NullOr(Schema.String),
  lag_seconds: Schema.NullOr(Schema.Number),
  last_error: Schema.NullOr(
    Schema.Struct({ code: Schema.String, message: Schema.String, at: Schema.NullOr(Schema.String) })
  ),
  consecutive_failures: Schema.Int
})

const AccountDto = Schema.Struct({
  account_id: Schema.String,
  credentials: Schema.Literal("ok", "needs_reauthorisation").annotations({
    description: "needs_reauthorisation: the upstream refused the credentials; the streams wait for new ones"
  }),
  credentials_error: Schema.NullOr(Schema.Struct({ reason: Schema.String, since: Schema.NullOr(Schema.String) })),
  chats_mirrored: Schema.Int,
  streams: Schema.Array(StreamDto)
})

const BucketDto = Schema.Struct({
  account_id: Schema.String,
  bucket: Schema.String,
  threshold: Schema.Int,
  used_last_60s: Schema.Int,
  locked_until: Schema.NullOr(Schema.String)
})

export class SyncStatus extends Schema.Class<SyncStatus>("SyncStatus")({
  generated_at: Schema.String,
  accounts: Schema.Array(AccountDto),
  queue: Schema.Record({ key: Schema.String, value: Schema.Int }).annotations({
    description: "Commands by status"
  }),
  events_max_seq: Schema.Int,
  buckets: Schema.Array(BucketDto)
}) {}

const toStreamDto = (s: StreamStatus): typeof StreamDto.Type => ({
  stream: s.stream,
  status: s.status,
  high_water_mark: s.highWaterMs === null ? null : new Date(s.highWaterMs).toISOString(),
  last_run_at: iso(s.lastRunAt),
  last_success_at: iso(s.lastSuccessAt),
  lag_seconds: s.lagMs === null ? null : Math.round(s.lagMs) / 1000,
  last_error:
    s.lastError === null
      ? null
      : {
          code: String(s.lastError.code),
          message: String(s.lastError.message),
          at: s.lastError.at == null ? null : String(s.lastError.at)
        },
  consecutive_failures: s.consecutiveFailures
})

export const toSyncStatusDto = (snapshot: SyncSnapshot, buckets: ReadonlyArray<BucketUsage>): SyncStatus =>
  new SyncStatus({
    generated_at: snapshot.now.toISOString(),
    accounts: snapshot.accounts.map(a => ({
      account_id: a.accountId,
      credentials: a.credentials,
      credentials_error:
        a.credentialsProblem === null
          ? null
          : { reason: a.credentialsProblem.reason, since: iso(a.credentialsProblem.since) },
      chats_mirrored: a.chatsMirrored,
      streams: a.streams.map(toStreamDto)
    })),
    queue: { ...Object.fromEntries(COMMAND_STATUSES.map(s => [s, 0])), ...snapshot.commandsByStatus },
    events_max_seq: snapshot.eventsMaxSeq,
    buckets: buckets.map(b => ({
      account_id: b.accountId,
      bucket: b.bucket,
      threshold: b.threshold,
      used_last_60s: b.usedInWindow,
      locked_until: iso(b.lockedUntil)
    }))
  })
