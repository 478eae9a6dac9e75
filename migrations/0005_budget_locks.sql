-- Custom SQL migration file, put your code below! --
CREATE TABLE "bucket_locks" (
	"budget_key" text NOT NULL,
	"bucket" text NOT NULL,
	"locked_at" timestamp (3) with time zone NOT NULL,
	"locked_until" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "bucket_locks_budget_key_bucket_pk" PRIMARY KEY("budget_key","bucket")
);
--> statement-breakpoint
CREATE INDEX "bucket_locks_until" ON "bucket_locks" USING btree ("locked_until");
--> statement-breakpoint
CREATE TABLE "budget_starts" (
	"prefix" text PRIMARY KEY NOT NULL,
	"started_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
