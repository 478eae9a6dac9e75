CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE TABLE "accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chat_members" (
	"account_id" text NOT NULL,
	"chat_id" text NOT NULL,
	"user_id" text NOT NULL,
	"name" text,
	"email_id" text,
	CONSTRAINT "chat_members_account_id_chat_id_user_id_pk" PRIMARY KEY("account_id","chat_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "chats" (
	"account_id" text NOT NULL,
	"chat_id" text NOT NULL,
	"name" text DEFAULT '' NOT NULL,
	"chat_type" text DEFAULT 'unknown' NOT NULL,
	"participant_count" integer,
	"creator_id" text,
	"creator_name" text,
	"created_time" timestamp (3) with time zone,
	"last_modified_time" timestamp (3) with time zone,
	"last_message_time" timestamp (3) with time zone,
	"pinned" boolean DEFAULT false NOT NULL,
	"removed" boolean DEFAULT false NOT NULL,
	"unread_message_count" integer DEFAULT 0 NOT NULL,
	"unread_time" timestamp (3) with time zone,
	"last_message_info" jsonb,
	"previous_titles" text,
	"thread_message_id" text,
	"parent_chat_id" text,
	"muted" boolean DEFAULT false NOT NULL,
	"closed" boolean DEFAULT false NOT NULL,
	"drafts" boolean DEFAULT false NOT NULL,
	"joined" boolean DEFAULT false NOT NULL,
	"members_fetched_at" timestamp (3) with time zone,
	"synced_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"raw" jsonb NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "chats_account_id_chat_id_pk" PRIMARY KEY("account_id","chat_id")
);
--> statement-breakpoint
CREATE TABLE "commands" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"type" text NOT NULL,
	"chat_id" text,
	"payload" jsonb NOT NULL,
	"idempotency_key" text,
	"request_hash" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" jsonb,
	"result" jsonb,
	"superseded_by" uuid,
	"eta" timestamp (3) with time zone,
	"lease_until" timestamp (3) with time zone,
	"intake_seq" bigserial NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp (3) with time zone,
	"enqueued_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "events" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"event_id" uuid NOT NULL,
	"account_id" text NOT NULL,
	"chat_id" text,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"occurred_at" timestamp (3) with time zone,
	"recorded_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"dedupe_key" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "projection_checkpoints" (
	"name" text PRIMARY KEY NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rejected_items" (
	"account_id" text NOT NULL,
	"chat_id" text NOT NULL,
	"raw" jsonb NOT NULL,
	"path" text NOT NULL,
	"message" text NOT NULL,
	"attempts" integer DEFAULT 1 NOT NULL,
	"first_seen_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rejected_items_account_id_chat_id_pk" PRIMARY KEY("account_id","chat_id")
);
--> statement-breakpoint
CREATE TABLE "sync_state" (
	"account_id" text NOT NULL,
	"stream" text NOT NULL,
	"high_water_ms" bigint,
	"boundary_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"cursor" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'idle' NOT NULL,
	"last_run_at" timestamp (3) with time zone,
	"last_success_at" timestamp (3) with time zone,
	"last_error" jsonb,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"chats_observed" bigint DEFAULT 0 NOT NULL,
	"events_appended" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sync_state_account_id_stream_pk" PRIMARY KEY("account_id","stream")
);
--> statement-breakpoint
CREATE INDEX "chats_recent" ON "chats" USING btree ("account_id","last_modified_time" DESC NULLS LAST,"chat_id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "chats_by_name" ON "chats" USING btree ("account_id",lower("name"),"chat_id");--> statement-breakpoint
CREATE INDEX "chats_type" ON "chats" USING btree ("account_id","chat_type");--> statement-breakpoint
CREATE INDEX "chats_name_trgm" ON "chats" USING gin (lower("name") gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "commands_idempotency" ON "commands" USING btree ("account_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "commands_status" ON "commands" USING btree ("status","created_at","id");--> statement-breakpoint
CREATE INDEX "commands_chat_order" ON "commands" USING btree ("account_id","chat_id","intake_seq");--> statement-breakpoint
CREATE INDEX "commands_outbox" ON "commands" USING btree ("intake_seq") WHERE "commands"."enqueued_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "events_event_id_key" ON "events" USING btree ("event_id");--> statement-breakpoint
CREATE UNIQUE INDEX "events_dedupe_key" ON "events" USING btree ("account_id","dedupe_key");--> statement-breakpoint
CREATE INDEX "events_chat_seq" ON "events" USING btree ("account_id","chat_id","seq");--> statement-breakpoint
CREATE INDEX "events_type_seq" ON "events" USING btree ("type","seq");