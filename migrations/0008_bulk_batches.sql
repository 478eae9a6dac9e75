CREATE TABLE "batches" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"type" text NOT NULL,
	"request" jsonb NOT NULL,
	"idempotency_key" text,
	"request_hash" text NOT NULL,
	"matched" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "batches_idempotency" ON "batches" USING btree ("account_id","idempotency_key");
--> statement-breakpoint
ALTER TABLE "commands" ADD COLUMN "batch_id" uuid;
--> statement-breakpoint
CREATE INDEX "commands_batch" ON "commands" USING btree ("batch_id","status") WHERE "batch_id" IS NOT NULL;
--> statement-breakpoint
CREATE INDEX "commands_batch_recent" ON "commands" USING btree ("batch_id","created_at" DESC,"id" DESC) WHERE "batch_id" IS NOT NULL;
--> statement-breakpoint
CREATE INDEX "commands_type_recent" ON "commands" USING btree ("type","created_at" DESC,"id" DESC);
--> statement-breakpoint
CREATE INDEX "commands_chat_recent" ON "commands" USING btree ("chat_id","created_at" DESC,"id" DESC) WHERE "chat_id" IS NOT NULL;
