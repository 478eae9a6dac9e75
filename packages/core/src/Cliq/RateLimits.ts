import * as FileSystem from "@effect/platform/FileSystem"
import { Config, Data, Effect, Option, ParseResult, Schema } from "effect"
import { BUCKET_IDS, BUCKETS, type BucketId, type BucketLimit, type BucketTable } from "./Buckets.js"
import { OPERATION_BY_ID, type OperationId } from "./Operations.js"

export class RateLimitsFileError extends Data.TaggedError("RateLimitsFileError")<{ readonly message: string }> {}

const Override = Schema.Struct({
  threshold: Schema.optional(Schema.Int.pipe(Schema.positive())),
  lock_seconds: Schema.optional(Schema.Number.pipe(Schema.positive())),
  window_seconds: Schema.optional(Schema.Number.pipe(Schema.positive()))
})
const OverridesFile = Schema.Record({ key: Schema.String, value: Override })

const bucketOf = (key: string): BucketId | undefined =>
  (BUCKET_IDS as ReadonlyArray<string>).includes(key)
    ? (key as BucketId)
    : (OPERATION_BY_ID as Record<string, { bucket: BucketId } | undefined>)[key as OperationId]?.bucket

/**
 * Applies RATE_LIMITS_FILE overrides. Keys are bucket ids (`chats.list`) or operation ids (`listChats`, meaning
 * its bucket). Any positive value is accepted: an operator with a negotiated quota may raise a threshold.
 */
export const applyOverrides = (text: string, file: string): Effect.Effect<BucketTable, RateLimitsFileError> =>
  Effect.gen(function* () {
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: e => new RateLimitsFileError({ message: `RATE_LIMITS_FILE ${file}: not valid JSON (${String(e)})` })
    })
    const overrides = yield* Schema.decodeUnknown(OverridesFile)(json).pipe(
      Effect.mapError(
        e =>
          new RateLimitsFileError({
            message: `RATE_LIMITS_FILE ${file}: ${ParseResult.TreeFormatter.formatErrorSync(e)}`
          })
      )
    )
    const table: Record<string, BucketLimit> = { ...BUCKETS }
    for (const [key, o] of Object.entries(overrides)) {
      const bucket = bucketOf(key)
      if (!bucket) {
        return yield* new RateLimitsFileError({
          message: `RATE_LIMITS_FILE ${file}: "${key}" is neither a bucket (${BUCKET_IDS.join(", ")}) nor an operation id`
        })
      }
      const current = table[bucket]!
      table[bucket] = {
        ...current,
        ...(o.threshold !== undefined ? { threshold: o.threshold } : {}),
        ...(o.lock_seconds !== undefined ? { lockMs: Math.round(o.lock_seconds * 1000) } : {}),
        ...(o.window_seconds !== undefined ? { windowMs: Math.round(o.window_seconds * 1000) } : {})
      }
    }
    return table as BucketTable
  })

/** The bucket table in force: defaults, then RATE_LIMITS_FILE when set. */
export const loadBucketTable: Effect.Effect<BucketTable, RateLimitsFileError, FileSystem.FileSystem> = Effect.gen(
  function* () {
    const file = yield* Config.option(Config.string("RATE_LIMITS_FILE")).pipe(
      Effect.mapError(e => new RateLimitsFileError({ message: `RATE_LIMITS_FILE: ${e.message}` }))
    )
    if (Option.isNone(file) || file.value.trim() === "") return BUCKETS as BucketTable
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs
      .readFileString(file.value)
      .pipe(
        Effect.mapError(
          e => new RateLimitsFileError({ message: `RATE_LIMITS_FILE ${file.value}: cannot read (${e.message})` })
        )
      )
    return yield* applyOverrides(text, file.value)
  }
)
