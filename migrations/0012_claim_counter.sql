-- The claim token of docs/commands.md ("Decisions"): a counter no writer decreases, unlike `attempts`, which a refund
-- gives back. Existing rows start at 0.
ALTER TABLE "commands" ADD COLUMN "claims" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
COMMENT ON COLUMN "commands"."claims" IS 'Internal: claims of the command by an attempt and operator retries, counted and never given back; an attempt''s writes change the row only while it still shows the count of its own claim.';
