-- Retention prunes finished commands by completion time; the partial index keeps each pass to the rows it deletes.
CREATE INDEX IF NOT EXISTS "commands_finished_completed" ON "commands" ("completed_at") WHERE "status" in ('succeeded', 'failed', 'cancelled');
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "backfill_progress" (
  "account_id" text NOT NULL,
  "stream" text NOT NULL,
  "covered" double precision NOT NULL,
  "items" bigint NOT NULL,
  "estimated_total" bigint NOT NULL,
  "eta_ms" bigint NOT NULL,
  "updated_at" timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT "backfill_progress_pk" PRIMARY KEY ("account_id", "stream")
);
