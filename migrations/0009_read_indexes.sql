-- Every read of the API is served by an index, with and without account_id (test/db/QueryPlans.test.ts checks the plans).
-- The recent sort keys on coalesce(last_modified_time, '-infinity'): nulls last in descending order, so one row comparison
-- is the keyset.
DROP INDEX IF EXISTS "chats_recent";
--> statement-breakpoint
CREATE INDEX "chats_recent" ON "chats" USING btree ("account_id", (coalesce("last_modified_time", '-infinity'::timestamptz)) DESC, "chat_id" DESC);
--> statement-breakpoint
CREATE INDEX "chats_recent_all" ON "chats" USING btree ((coalesce("last_modified_time", '-infinity'::timestamptz)) DESC, "chat_id" DESC, "account_id" DESC);
--> statement-breakpoint
CREATE INDEX "chats_name_all" ON "chats" USING btree (lower("name"), "chat_id", "account_id");
--> statement-breakpoint
CREATE INDEX "chats_by_chat_id" ON "chats" USING btree ("chat_id", "account_id");
--> statement-breakpoint
CREATE INDEX "chats_unread_recent" ON "chats" USING btree ("account_id", (coalesce("last_modified_time", '-infinity'::timestamptz)) DESC, "chat_id" DESC) WHERE "unread_message_count" > 0;
--> statement-breakpoint
CREATE INDEX "chats_unread_recent_all" ON "chats" USING btree ((coalesce("last_modified_time", '-infinity'::timestamptz)) DESC, "chat_id" DESC, "account_id" DESC) WHERE "unread_message_count" > 0;
--> statement-breakpoint
-- Pinned, muted, removed and closed chats are few: their filters read this small index rather than walk a sort order.
CREATE INDEX "chats_flagged" ON "chats" USING btree ("account_id", "chat_id") WHERE "pinned" OR "muted" OR "removed" OR "closed";
--> statement-breakpoint
-- /v1/events?chat_id= has no account: (chat_id, seq) serves it and any account-scoped read by chat.
DROP INDEX IF EXISTS "events_chat_seq";
--> statement-breakpoint
CREATE INDEX "events_chat_seq" ON "events" USING btree ("chat_id", "seq");
--> statement-breakpoint
-- The commands listing orders by created_at desc, id desc (nulls first, PostgreSQL's default for desc): an index built
-- nulls last cannot serve it.
DROP INDEX IF EXISTS "commands_recent";
--> statement-breakpoint
CREATE INDEX "commands_recent" ON "commands" USING btree ("created_at" DESC NULLS FIRST, "id" DESC NULLS FIRST);
