-- Descriptions of the tables and columns added after 0006_analytics.sql, the same sentences as docs/schema.md
-- (test/analytics/Views.test.ts checks they agree, for every table and view of the schema).
COMMENT ON TABLE "account_credentials" IS 'Whether each account''s credentials still work. While they do not (needs_reauthorisation), the account''s streams are paused and its commands wait as waiting_reauth until new credentials are configured.';
--> statement-breakpoint
COMMENT ON COLUMN "account_credentials"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "account_credentials"."state" IS 'ok, or needs_reauthorisation when the upstream refused the account''s credentials.';
--> statement-breakpoint
COMMENT ON COLUMN "account_credentials"."reason" IS 'Why the upstream refused them, e.g. an OAuth error code; null while ok. No token or secret is stored here.';
--> statement-breakpoint
COMMENT ON COLUMN "account_credentials"."since" IS 'When the credentials were first found refused; null while ok.';
--> statement-breakpoint
COMMENT ON COLUMN "account_credentials"."checked_at" IS 'When the daemon last recorded the state.';
--> statement-breakpoint
COMMENT ON TABLE "account_leases" IS 'Internal: which daemon process polls each account. The holder renews its lease while it runs; another process takes the account over once the lease has expired.';
--> statement-breakpoint
COMMENT ON COLUMN "account_leases"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "account_leases"."owner" IS 'The process holding the lease, as host/pid/random suffix (see lease_owners).';
--> statement-breakpoint
COMMENT ON COLUMN "account_leases"."expires_at" IS 'When the lease lapses unless renewed (the database''s clock decides).';
--> statement-breakpoint
COMMENT ON TABLE "lease_owners" IS 'Internal: the daemon processes that poll accounts, each renewing its row while it runs, so that each claims a fair share of the accounts.';
--> statement-breakpoint
COMMENT ON COLUMN "lease_owners"."owner" IS 'The process, as host/pid/random suffix.';
--> statement-breakpoint
COMMENT ON COLUMN "lease_owners"."expires_at" IS 'When the process counts as gone unless it renews its row.';
--> statement-breakpoint
COMMENT ON TABLE "bucket_locks" IS 'Rate-limit locks after a throttle answer, kept here as well as in Redis so that a Redis that lost its data still honours them. Times are the rate budget''s clock (Redis TIME).';
--> statement-breakpoint
COMMENT ON COLUMN "bucket_locks"."budget_key" IS 'Whom the upstream counts the bucket against: user:<account id> or client:<OAuth client id> (the public client id, never its secret).';
--> statement-breakpoint
COMMENT ON COLUMN "bucket_locks"."bucket" IS 'The rate-limit bucket, e.g. chats.list, chats.bulk_update.';
--> statement-breakpoint
COMMENT ON COLUMN "bucket_locks"."locked_at" IS 'When the lock began.';
--> statement-breakpoint
COMMENT ON COLUMN "bucket_locks"."locked_until" IS 'When the bucket admits calls again.';
--> statement-breakpoint
COMMENT ON COLUMN "bucket_locks"."updated_at" IS 'Last change of this row.';
--> statement-breakpoint
COMMENT ON TABLE "budget_starts" IS 'Internal: rate budgets (by Redis key prefix) that have run once; from then on, their state missing in Redis means the state was lost and every bucket counts as full for one window plus the safety margin.';
--> statement-breakpoint
COMMENT ON COLUMN "budget_starts"."prefix" IS 'The Redis key prefix of the budget (REDIS_PREFIX).';
--> statement-breakpoint
COMMENT ON COLUMN "budget_starts"."started_at" IS 'When the budget first ran.';
--> statement-breakpoint
COMMENT ON TABLE "backfill_progress" IS 'The daemon''s estimate of each account''s running initial sync (backfill), for the status page and metrics.';
--> statement-breakpoint
COMMENT ON COLUMN "backfill_progress"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "backfill_progress"."stream" IS 'The sync stream walking, e.g. incremental.';
--> statement-breakpoint
COMMENT ON COLUMN "backfill_progress"."covered" IS 'Share of the time axis already walked, from 0 to 1.';
--> statement-breakpoint
COMMENT ON COLUMN "backfill_progress"."items" IS 'Chats mirrored by the walk so far.';
--> statement-breakpoint
COMMENT ON COLUMN "backfill_progress"."estimated_total" IS 'Chats the walk is expected to find in all.';
--> statement-breakpoint
COMMENT ON COLUMN "backfill_progress"."eta_ms" IS 'Estimated milliseconds until the walk completes; 0 once complete.';
--> statement-breakpoint
COMMENT ON COLUMN "backfill_progress"."updated_at" IS 'When the estimate was last written.';
--> statement-breakpoint
COMMENT ON TABLE "batches" IS 'Bulk requests (POST /v1/bulk): one row per request; its commands carry its id in commands.batch_id.';
--> statement-breakpoint
COMMENT ON COLUMN "batches"."id" IS 'The batch id returned by the API.';
--> statement-breakpoint
COMMENT ON COLUMN "batches"."account_id" IS 'The account the commands act as.';
--> statement-breakpoint
COMMENT ON COLUMN "batches"."type" IS 'Command type of every command in the batch, e.g. mark_as_read.';
--> statement-breakpoint
COMMENT ON COLUMN "batches"."request" IS 'The request as accepted: where (the /v1/chats filters) and the command''s parameters.';
--> statement-breakpoint
COMMENT ON COLUMN "batches"."idempotency_key" IS 'The client''s idempotency key, when given; unique per account.';
--> statement-breakpoint
COMMENT ON COLUMN "batches"."request_hash" IS 'Internal: hash of the request, to tell a repeated request from a different one under the same key.';
--> statement-breakpoint
COMMENT ON COLUMN "batches"."matched" IS 'Chats the filter matched, hence commands taken in.';
--> statement-breakpoint
COMMENT ON COLUMN "batches"."created_at" IS 'When the batch was taken in.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."status" IS 'queued, waiting_rate_limit, waiting_reauth, running, succeeded, failed or cancelled.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."needs_check" IS 'The last attempt''s outcome is unknown: the upstream state is read before the command is sent again.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."batch_id" IS 'The bulk request (batches.id) that took the command in; null for a command requested alone.';
--> statement-breakpoint
-- Readable by the read-only role like every table: none of them holds a token, secret or password.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO cliq_mirror_reader;
