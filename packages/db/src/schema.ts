import { sql } from "drizzle-orm"
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid
} from "drizzle-orm/pg-core"

const tstz = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: "date" })

export const accounts = pgTable("accounts", {
  id: text("id").primaryKey(),
  createdAt: tstz("created_at").notNull().defaultNow()
})

/** Which process polls each account (see apps/daemon/src/Sync/AccountLease.ts). */
export const accountLeases = pgTable(
  "account_leases",
  {
    accountId: text("account_id").primaryKey(),
    owner: text("owner").notNull(),
    expiresAt: tstz("expires_at").notNull()
  },
  t => [index("account_leases_owner_idx").on(t.owner)]
)

/** Processes that poll accounts, each renewing its row, so that each takes a fair share of the accounts. */
export const leaseOwners = pgTable("lease_owners", {
  owner: text("owner").primaryKey(),
  expiresAt: tstz("expires_at").notNull()
})

/** One row per account and stream: the cursor and its bookkeeping, written in the same transaction as the data. */
export const syncState = pgTable(
  "sync_state",
  {
    accountId: text("account_id").notNull(),
    stream: text("stream").notNull(),
    highWaterMs: bigint("high_water_ms", { mode: "number" }),
    /** Ids observed at exactly highWaterMs (bounded: pruned whenever the mark moves). */
    boundaryIds: text("boundary_ids").array().notNull().default(sql`'{}'::text[]`),
    cursor: jsonb("cursor").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    status: text("status").notNull().default("idle"),
    lastRunAt: tstz("last_run_at"),
    lastSuccessAt: tstz("last_success_at"),
    lastError: jsonb("last_error").$type<{ code: string; message: string; at: string } | null>(),
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    chatsObserved: bigint("chats_observed", { mode: "number" }).notNull().default(0),
    eventsAppended: bigint("events_appended", { mode: "number" }).notNull().default(0),
    updatedAt: tstz("updated_at").notNull().defaultNow()
  },
  t => [primaryKey({ columns: [t.accountId, t.stream] })]
)

/** Whether the account's credentials work; `needs_reauthorisation` pauses its streams until new ones are configured. */
export const accountCredentials = pgTable("account_credentials", {
  accountId: text("account_id").primaryKey(),
  state: text("state").$type<"ok" | "needs_reauthorisation">().notNull().default("ok"),
  reason: text("reason"),
  since: tstz("since"),
  checkedAt: tstz("checked_at").notNull().defaultNow()
})

/**
 * The append-only log, source of truth for every projection. `event_id` is derived from the account and `dedupe_key`
 * (see EventAppend), so its unique index makes re-observing one upstream change append nothing. Appends take a
 * transaction advisory lock so seq order equals commit order (see EventAppend).
 */
export const events = pgTable(
  "events",
  {
    seq: bigserial("seq", { mode: "number" }).primaryKey(),
    eventId: uuid("event_id").notNull(),
    accountId: text("account_id").notNull(),
    chatId: text("chat_id"),
    type: text("type").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    occurredAt: tstz("occurred_at"),
    recordedAt: tstz("recorded_at").notNull().defaultNow(),
    dedupeKey: text("dedupe_key").notNull()
  },
  t => [
    uniqueIndex("events_event_id_key").on(t.eventId),
    index("events_chat_seq").on(t.chatId, t.seq),
    index("events_type_seq").on(t.type, t.seq)
  ]
)

/** The mirror: every field of the upstream chat object plus filter-only states and bookkeeping. */
export const chats = pgTable(
  "chats",
  {
    accountId: text("account_id").notNull(),
    chatId: text("chat_id").notNull(),
    name: text("name").notNull().default(""),
    chatType: text("chat_type").notNull().default("unknown"),
    participantCount: integer("participant_count"),
    creatorId: text("creator_id"),
    creatorName: text("creator_name"),
    createdTime: tstz("created_time"),
    lastModifiedTime: tstz("last_modified_time"),
    lastMessageTime: tstz("last_message_time"),
    pinned: boolean("pinned").notNull().default(false),
    removed: boolean("removed").notNull().default(false),
    unreadMessageCount: integer("unread_message_count").notNull().default(0),
    unreadTime: tstz("unread_time"),
    lastMessageInfo: jsonb("last_message_info").$type<Record<string, unknown> | null>(),
    previousTitles: text("previous_titles"),
    threadMessageId: text("thread_message_id"),
    parentChatId: text("parent_chat_id"),
    muted: boolean("muted").notNull().default(false),
    closed: boolean("closed").notNull().default(false),
    drafts: boolean("drafts").notNull().default(false),
    joined: boolean("joined").notNull().default(false),
    membersFetchedAt: tstz("members_fetched_at"),
    syncedAt: tstz("synced_at").notNull().defaultNow(),
    raw: jsonb("raw").$type<Record<string, unknown>>().notNull(),
    lastSeq: bigint("last_seq", { mode: "number" }).notNull().default(0)
  },
  t => [
    primaryKey({ columns: [t.accountId, t.chatId] }),
    index("chats_recent").on(
      t.accountId,
      sql`(coalesce(${t.lastModifiedTime}, '-infinity'::timestamptz)) desc`,
      t.chatId.desc()
    ),
    index("chats_recent_all").on(
      sql`(coalesce(${t.lastModifiedTime}, '-infinity'::timestamptz)) desc`,
      t.chatId.desc(),
      t.accountId.desc()
    ),
    index("chats_by_name").on(t.accountId, sql`lower(${t.name})`, t.chatId),
    index("chats_name_all").on(sql`lower(${t.name})`, t.chatId, t.accountId),
    index("chats_by_chat_id").on(t.chatId, t.accountId),
    index("chats_unread_recent")
      .on(t.accountId, sql`(coalesce(${t.lastModifiedTime}, '-infinity'::timestamptz)) desc`, t.chatId.desc())
      .where(sql`${t.unreadMessageCount} > 0`),
    index("chats_unread_recent_all")
      .on(sql`(coalesce(${t.lastModifiedTime}, '-infinity'::timestamptz)) desc`, t.chatId.desc(), t.accountId.desc())
      .where(sql`${t.unreadMessageCount} > 0`),
    index("chats_flagged")
      .on(t.accountId, t.chatId)
      .where(sql`${t.pinned} or ${t.muted} or ${t.removed} or ${t.closed}`),
    index("chats_type").on(t.accountId, t.chatType),
    index("chats_name_trgm").using("gin", sql`lower(${t.name}) gin_trgm_ops`)
  ]
)

export const chatMembers = pgTable(
  "chat_members",
  {
    accountId: text("account_id").notNull(),
    chatId: text("chat_id").notNull(),
    userId: text("user_id").notNull(),
    name: text("name"),
    emailId: text("email_id")
  },
  t => [primaryKey({ columns: [t.accountId, t.chatId, t.userId] })]
)

export const projectionCheckpoints = pgTable("projection_checkpoints", {
  name: text("name").primaryKey(),
  lastSeq: bigint("last_seq", { mode: "number" }).notNull().default(0),
  updatedAt: tstz("updated_at").notNull().defaultNow()
})

/** Upstream items that failed to decode; retried by GET /chats/{id} on the next pass. */
export const rejectedItems = pgTable(
  "rejected_items",
  {
    accountId: text("account_id").notNull(),
    chatId: text("chat_id").notNull(),
    raw: jsonb("raw").notNull(),
    path: text("path").notNull(),
    message: text("message").notNull(),
    attempts: integer("attempts").notNull().default(1),
    firstSeenAt: tstz("first_seen_at").notNull().defaultNow(),
    lastSeenAt: tstz("last_seen_at").notNull().defaultNow()
  },
  t => [primaryKey({ columns: [t.accountId, t.chatId] })]
)

/**
 * Throttle locks of the rate budget, kept here as well as in Redis so that a lock outlives a Redis wipe or restart
 * (apps/daemon/src/BudgetLocks.ts puts active ones back). Times are the budget's clock (Redis `TIME`).
 */
export const bucketLocks = pgTable(
  "bucket_locks",
  {
    budgetKey: text("budget_key").notNull(),
    bucket: text("bucket").notNull(),
    lockedAt: tstz("locked_at").notNull(),
    lockedUntil: tstz("locked_until").notNull(),
    updatedAt: tstz("updated_at").notNull().defaultNow()
  },
  t => [primaryKey({ columns: [t.budgetKey, t.bucket] }), index("bucket_locks_until").on(t.lockedUntil)]
)

/** A budget (by Redis key prefix) that has run once: from then on, its state missing in Redis means lost state. */
export const budgetStarts = pgTable("budget_starts", {
  prefix: text("prefix").primaryKey(),
  startedAt: tstz("started_at").notNull().defaultNow()
})

/** Commands double as their own outbox: `enqueued_at` null means the BullMQ job still has to be added. */
export const commands = pgTable(
  "commands",
  {
    id: uuid("id").primaryKey(),
    accountId: text("account_id").notNull(),
    type: text("type").notNull(),
    chatId: text("chat_id"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash").notNull(),
    status: text("status").notNull().default("queued"),
    attempts: integer("attempts").notNull().default(0),
    /** How many times an operator put the failed command back (each retry starts a fresh series of attempts). */
    retries: integer("retries").notNull().default(0),
    /**
     * Claims of the command by an attempt (a claim, a takeover) and operator retries, counted and never given back: the
     * token an attempt's writes are checked against (`Claim` in CommandsRepo).
     */
    claims: integer("claims").notNull().default(0),
    lastError: jsonb("last_error").$type<{ code: string; message: string } | null>(),
    result: jsonb("result").$type<Record<string, unknown> | null>(),
    supersededBy: uuid("superseded_by"),
    eta: tstz("eta"),
    /** While running: the claiming worker's deadline; past it, the attempt is presumed dead (outcome unknown). */
    leaseUntil: tstz("lease_until"),
    intakeSeq: bigserial("intake_seq", { mode: "number" }).notNull(),
    createdAt: tstz("created_at").notNull().defaultNow(),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
    completedAt: tstz("completed_at"),
    enqueuedAt: tstz("enqueued_at"),
    /** An attempt may have taken effect unseen: a non-idempotent command is checked upstream before it is sent again. */
    needsCheck: boolean("needs_check").notNull().default(false),
    /** The bulk request (`batches`) that took it in, if any. */
    batchId: uuid("batch_id")
  },
  t => [
    uniqueIndex("commands_idempotency").on(t.accountId, t.idempotencyKey),
    index("commands_status").on(t.status, t.createdAt, t.id),
    index("commands_recent").on(t.createdAt.desc().nullsFirst(), t.id.desc().nullsFirst()),
    index("commands_pending_by_type")
      .on(t.accountId, t.type, t.intakeSeq)
      .where(sql`${t.status} in ('queued', 'waiting_rate_limit')`),
    index("commands_chat_order").on(t.accountId, t.chatId, t.intakeSeq),
    index("commands_outbox").on(t.intakeSeq).where(sql`${t.enqueuedAt} is null`),
    index("commands_unfinished").on(t.intakeSeq).where(sql`${t.status} not in ('succeeded', 'failed', 'cancelled')`),
    index("commands_finished_completed")
      .on(t.completedAt)
      .where(sql`${t.status} in ('succeeded', 'failed', 'cancelled')`),
    index("commands_batch").on(t.batchId, t.status).where(sql`${t.batchId} is not null`),
    index("commands_batch_recent").on(t.batchId, t.createdAt.desc(), t.id.desc()).where(sql`${t.batchId} is not null`),
    index("commands_type_recent").on(t.type, t.createdAt.desc(), t.id.desc()),
    index("commands_chat_recent").on(t.chatId, t.createdAt.desc(), t.id.desc()).where(sql`${t.chatId} is not null`),
    index("commands_clear_unread_chats")
      .using("gin", sql`(${t.payload} -> 'chat_ids')`)
      .where(sql`${t.type} = 'clear_unread' and ${t.status} not in ('succeeded', 'failed', 'cancelled')`)
  ]
)

/** The daemon's estimate of each running backfill (see apps/daemon/src/Sync/Progress.ts), for the status page. */
/** One bulk request (`POST /v1/bulk`): its commands carry its id in `commands.batch_id`. */
export const batches = pgTable(
  "batches",
  {
    id: uuid("id").primaryKey(),
    accountId: text("account_id").notNull(),
    type: text("type").notNull(),
    request: jsonb("request").$type<Record<string, unknown>>().notNull(),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash").notNull(),
    matched: integer("matched").notNull(),
    createdAt: tstz("created_at").notNull().defaultNow()
  },
  t => [uniqueIndex("batches_idempotency").on(t.accountId, t.idempotencyKey)]
)

export const backfillProgress = pgTable(
  "backfill_progress",
  {
    accountId: text("account_id").notNull(),
    stream: text("stream").notNull(),
    covered: doublePrecision("covered").notNull(),
    items: bigint("items", { mode: "number" }).notNull(),
    estimatedTotal: bigint("estimated_total", { mode: "number" }).notNull(),
    etaMs: bigint("eta_ms", { mode: "number" }).notNull(),
    updatedAt: tstz("updated_at").notNull().defaultNow()
  },
  t => [primaryKey({ name: "backfill_progress_pk", columns: [t.accountId, t.stream] })]
)
