-- Custom SQL migration file, put your code below! --
ALTER TABLE "commands" ADD COLUMN "needs_check" boolean DEFAULT false NOT NULL;
--> statement-breakpoint
UPDATE "commands" SET "needs_check" = true WHERE "last_error" ->> 'code' = 'outcome_unknown';
--> statement-breakpoint
CREATE INDEX "commands_unfinished" ON "commands" USING btree ("intake_seq") WHERE "status" NOT IN ('succeeded', 'failed', 'cancelled');
--> statement-breakpoint
CREATE INDEX "commands_clear_unread_chats" ON "commands" USING gin (("payload" -> 'chat_ids')) WHERE "type" = 'clear_unread' AND "status" NOT IN ('succeeded', 'failed', 'cancelled');
