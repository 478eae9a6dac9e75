-- Custom SQL migration file, put your code below! --
CREATE TABLE IF NOT EXISTS "account_credentials" (
	"account_id" text PRIMARY KEY NOT NULL,
	"state" text DEFAULT 'ok' NOT NULL,
	"reason" text,
	"since" timestamp with time zone,
	"checked_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "account_credentials_state_check" CHECK ("state" in ('ok', 'needs_reauthorisation'))
);
