ALTER TABLE "commands" ADD COLUMN "retries" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "commands_recent" ON "commands" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "commands_pending_by_type" ON "commands" USING btree ("account_id","type","intake_seq") WHERE "commands"."status" in ('queued', 'waiting_rate_limit');