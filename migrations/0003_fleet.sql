-- Which process polls each account: claimed when free or expired, renewed by its owner in one statement per tick.
CREATE TABLE "account_leases" (
	"account_id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "account_leases_owner_idx" ON "account_leases" USING btree ("owner");
--> statement-breakpoint
-- Processes that poll accounts, so that each takes a fair share of them.
CREATE TABLE "lease_owners" (
	"owner" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL
);
