-- Views and a read-only role for analysts; every table and view is described in docs/schema.md, whose text the
-- COMMENT statements below repeat (test/analytics/Views.test.ts checks they agree).
CREATE OR REPLACE VIEW "chats_current" AS
SELECT c.account_id, c.chat_id, c.name, c.chat_type, c.participant_count, c.creator_id, c.creator_name,
  c.created_time, c.last_modified_time, c.last_message_time,
  c.last_message_info ->> 'message_id' AS last_message_id,
  c.last_message_info ->> 'sender' AS last_message_sender,
  c.last_message_info -> 'content' ->> 'text' AS last_message_text,
  c.last_message_info ->> 'type' AS last_message_type,
  c.unread_message_count, c.unread_time, c.unread_message_count > 0 AS unread,
  c.pinned, c.muted, c.closed, c.drafts, c.joined, c.parent_chat_id, c.previous_titles,
  c.members_fetched_at, c.synced_at
FROM chats c
WHERE NOT c.removed;
--> statement-breakpoint
CREATE OR REPLACE VIEW "unread_by_chat_type" AS
SELECT account_id, chat_type,
  count(*) AS chats,
  count(*) FILTER (WHERE unread_message_count > 0) AS unread_chats,
  coalesce(sum(unread_message_count), 0)::bigint AS unread_messages,
  count(*) FILTER (WHERE unread_message_count > 0 AND muted) AS muted_unread_chats,
  min(unread_time) FILTER (WHERE unread_message_count > 0) AS oldest_unread_time
FROM chats
WHERE NOT removed
GROUP BY account_id, chat_type;
--> statement-breakpoint
CREATE OR REPLACE VIEW "activity_per_day" AS
SELECT account_id, (coalesce(occurred_at, recorded_at) AT TIME ZONE 'UTC')::date AS day, type,
  count(*) AS events,
  count(DISTINCT chat_id) AS chats
FROM events
GROUP BY 1, 2, 3;
--> statement-breakpoint
CREATE OR REPLACE VIEW "chat_renames" AS
SELECT account_id, chat_id, seq, payload ->> 'old_title' AS old_title, payload ->> 'new_title' AS new_title,
  coalesce(occurred_at, recorded_at) AS renamed_at, recorded_at
FROM events
WHERE type = 'ChatRenamed';
--> statement-breakpoint
CREATE OR REPLACE VIEW "chat_member_counts" AS
SELECT c.account_id, c.chat_id, c.name, c.chat_type, c.participant_count,
  count(m.user_id) AS members_mirrored, c.members_fetched_at,
  CASE
    WHEN c.members_fetched_at IS NULL THEN 'never_fetched'
    WHEN c.participant_count IS NOT NULL AND c.participant_count <> count(m.user_id) THEN 'count_differs'
  END AS stale_reason,
  (c.members_fetched_at IS NULL OR (c.participant_count IS NOT NULL AND c.participant_count <> count(m.user_id)))
    AS stale
FROM chats c
LEFT JOIN chat_members m ON m.account_id = c.account_id AND m.chat_id = c.chat_id
WHERE NOT c.removed
GROUP BY c.account_id, c.chat_id;
--> statement-breakpoint
CREATE OR REPLACE VIEW "stale_member_lists" AS
SELECT account_id, chat_id, name, chat_type, participant_count, members_mirrored, members_fetched_at, stale_reason,
  now() - members_fetched_at AS fetched_age
FROM chat_member_counts
WHERE stale;
--> statement-breakpoint
CREATE OR REPLACE VIEW "command_outcomes_per_day" AS
SELECT account_id, (created_at AT TIME ZONE 'UTC')::date AS day, type,
  count(*) AS commands,
  count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
  count(*) FILTER (WHERE status = 'succeeded' AND superseded_by IS NOT NULL) AS coalesced,
  count(*) FILTER (WHERE status = 'failed') AS failed,
  count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
  count(*) FILTER (WHERE status IN ('queued', 'waiting_rate_limit', 'running')) AS pending,
  sum(attempts)::bigint AS attempts,
  sum(retries)::bigint AS operator_retries,
  avg(completed_at - created_at) FILTER (WHERE status = 'succeeded') AS mean_time_to_success
FROM commands
GROUP BY 1, 2, 3;
--> statement-breakpoint
CREATE OR REPLACE VIEW "sync_health" AS
SELECT account_id,
  count(*) AS streams,
  count(*) FILTER (WHERE consecutive_failures > 0) AS failing_streams,
  array_agg(stream ORDER BY stream) FILTER (WHERE consecutive_failures > 0) AS failing_stream_names,
  max(consecutive_failures) AS max_consecutive_failures,
  min(last_success_at) AS least_recent_success_at,
  now() - min(last_success_at) AS least_recent_success_age,
  max(last_run_at) AS last_run_at,
  to_timestamp(max(high_water_ms) FILTER (WHERE stream = 'incremental') / 1000.0) AS incremental_high_water,
  (array_agg(last_error || jsonb_build_object('stream', stream) ORDER BY last_error ->> 'at' DESC, stream)
    FILTER (WHERE consecutive_failures > 0 AND last_error IS NOT NULL))[1] AS last_error,
  sum(chats_observed)::bigint AS chats_observed,
  sum(events_appended)::bigint AS events_appended,
  count(*) FILTER (WHERE consecutive_failures > 0) = 0 AS healthy
FROM sync_state
GROUP BY account_id;
--> statement-breakpoint
COMMENT ON TABLE "accounts" IS 'Every Cliq account the mirror has been configured with; one row per account id.';
--> statement-breakpoint
COMMENT ON COLUMN "accounts"."id" IS 'The account id under which the account''s chats, events, commands and sync state are kept.';
--> statement-breakpoint
COMMENT ON COLUMN "accounts"."created_at" IS 'When the mirror first saw this account id.';
--> statement-breakpoint
COMMENT ON TABLE "chats" IS 'The mirror: one row per chat an account can see (or could see, see `removed`), as of the last observation. A projection of the event log.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."account_id" IS 'The account that sees this chat.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."chat_id" IS 'The upstream chat id (opaque text).';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."name" IS 'Display name; for a direct message, the other person''s name.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."chat_type" IS 'One of channel, bot, entity_chat, direct_message, group_chat, crossproduct_custom_chat, thread; unknown for a type the mirror does not know (the raw payload keeps the original).';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."participant_count" IS 'Number of participants as the upstream reports it; null when not reported.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."creator_id" IS 'User id of the chat''s creator.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."creator_name" IS 'Display name of the chat''s creator.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."created_time" IS 'When the chat was created (upstream time).';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."last_modified_time" IS 'Last activity or change of the chat (upstream time; the upstream reports whole seconds).';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."last_message_time" IS 'Time of the last message (from `last_message_info`); null when unknown.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."pinned" IS 'Pinned by the account''s user.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."removed" IS 'The account''s user is no longer a member, or the chat is no longer accessible.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."unread_message_count" IS 'Unread messages for the account''s user.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."unread_time" IS 'Time of the first unread message; null when nothing is unread or not reported.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."last_message_info" IS 'The last message as the upstream sent it: `message_id`, `sender`, `time`, `content.text`, `type`.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."previous_titles" IS 'Earlier names after renames, as the upstream reports them.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."thread_message_id" IS 'Threads only: id of the message the thread hangs from.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."parent_chat_id" IS 'Threads only: the chat the thread belongs to.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."muted" IS 'Muted by the account''s user (learnt from the muted listing, not a field of the upstream object).';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."closed" IS 'Closed by the account''s user (learnt from the closed listing).';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."drafts" IS 'Holds an unsent draft (learnt from the drafts listing).';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."joined" IS 'Joined by the account''s user (learnt from the joined listing).';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."members_fetched_at" IS 'When the member list in `chat_members` was last fetched; null when never.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."synced_at" IS 'When an observation last confirmed this row (bookkeeping, not an upstream time).';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."raw" IS 'The upstream chat object exactly as last received, unknown fields included.';
--> statement-breakpoint
COMMENT ON COLUMN "chats"."last_seq" IS '`seq` of the last event applied to this row.';
--> statement-breakpoint
COMMENT ON TABLE "chat_members" IS 'Members of each chat as last fetched (see `chats.members_fetched_at`). A projection of the event log.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_members"."account_id" IS 'The account that sees the chat.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_members"."chat_id" IS 'The chat.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_members"."user_id" IS 'The member''s user id.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_members"."name" IS 'The member''s display name, when reported.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_members"."email_id" IS 'The member''s email address, when reported.';
--> statement-breakpoint
COMMENT ON TABLE "events" IS 'The append-only event log, source of truth for every projection: one row per observed or performed change. Payloads are described in docs/events.md.';
--> statement-breakpoint
COMMENT ON COLUMN "events"."seq" IS 'Position in the log; ascending `seq` is commit order.';
--> statement-breakpoint
COMMENT ON COLUMN "events"."event_id" IS 'Unique id derived from what the event records; re-observing the same change appends nothing.';
--> statement-breakpoint
COMMENT ON COLUMN "events"."account_id" IS 'The account the event belongs to.';
--> statement-breakpoint
COMMENT ON COLUMN "events"."chat_id" IS 'The chat the event is about; null for events about no single chat.';
--> statement-breakpoint
COMMENT ON COLUMN "events"."type" IS 'Event type, e.g. ChatDiscovered, ChatRenamed, LastMessageChanged, CommandSucceeded.';
--> statement-breakpoint
COMMENT ON COLUMN "events"."payload" IS 'What changed; the shape depends on `type`.';
--> statement-breakpoint
COMMENT ON COLUMN "events"."occurred_at" IS 'Upstream time of the change when the upstream gives one (the chat''s last_modified_time), else null.';
--> statement-breakpoint
COMMENT ON COLUMN "events"."recorded_at" IS 'When the mirror recorded the event.';
--> statement-breakpoint
COMMENT ON COLUMN "events"."dedupe_key" IS 'Internal: the key `event_id` is derived from.';
--> statement-breakpoint
COMMENT ON TABLE "commands" IS 'Mutations requested through the API (mark as read, rename, mute, …), one row per command, with their outcome. Also the outbox of the queue.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."id" IS 'The command id returned by the API.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."account_id" IS 'The account the command acts as.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."type" IS 'Command type, e.g. mark_as_read, update_title, mute_chat, add_members.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."chat_id" IS 'The chat it acts on; null for commands that create a chat.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."payload" IS 'The command''s parameters as accepted at intake.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."idempotency_key" IS 'The client''s idempotency key, when given; unique per account.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."request_hash" IS 'Internal: hash of the request, to tell a repeated request from a different one under the same key.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."status" IS 'queued, waiting_rate_limit, running, succeeded or failed.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."attempts" IS 'Upstream attempts of the current series.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."retries" IS 'How many times an operator put the failed command back.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."last_error" IS 'The last failure as `code` and `message` (code is the upstream error code when there is one).';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."result" IS 'What the upstream answered on success, when it answered something.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."superseded_by" IS 'When coalesced: the command whose upstream call carried this one.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."eta" IS 'While waiting for rate budget: when its bucket admits it again.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."lease_until" IS 'Internal: while running, the claiming worker''s deadline.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."intake_seq" IS 'Intake order; commands on one chat run in this order.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."created_at" IS 'When the command was taken in.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."updated_at" IS 'Last change of this row.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."completed_at" IS 'When it succeeded or finally failed.';
--> statement-breakpoint
COMMENT ON COLUMN "commands"."enqueued_at" IS 'Internal: when the outbox relay handed it to the queue; null while still to be handed over.';
--> statement-breakpoint
COMMENT ON TABLE "sync_state" IS 'One row per account and sync stream: the stream''s cursor, health and counters, written in the same transaction as the data it covers.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."stream" IS 'incremental, reconciliation, members, or state:muted / state:closed / state:drafts / state:joined.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."high_water_ms" IS 'Incremental stream: the upstream time (epoch milliseconds) up to which every change has been read.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."boundary_ids" IS 'Internal: chat ids observed exactly at the high-water mark.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."cursor" IS 'Internal: where an interrupted walk resumes.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."status" IS 'What the stream last did, e.g. idle, backfilling, polling, walking, backing_off.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."last_run_at" IS 'When the stream last ran, successfully or not.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."last_success_at" IS 'When the stream last completed a pass.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."last_error" IS 'The last failure as `code`, `message` and `at`; null after a success.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."consecutive_failures" IS 'Failures since the last success; above zero the stream is backing off.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."chats_observed" IS 'Chats observed by this stream since it started.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."events_appended" IS 'Events this stream appended since it started.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_state"."updated_at" IS 'Last change of this row.';
--> statement-breakpoint
COMMENT ON TABLE "rejected_items" IS 'Upstream chat objects that failed to decode, kept until a later pass reads them successfully.';
--> statement-breakpoint
COMMENT ON COLUMN "rejected_items"."account_id" IS 'The account whose listing carried the item.';
--> statement-breakpoint
COMMENT ON COLUMN "rejected_items"."chat_id" IS 'The chat id the item carried.';
--> statement-breakpoint
COMMENT ON COLUMN "rejected_items"."raw" IS 'The item as received.';
--> statement-breakpoint
COMMENT ON COLUMN "rejected_items"."path" IS 'Field path of the first problem, e.g. creator.id.';
--> statement-breakpoint
COMMENT ON COLUMN "rejected_items"."message" IS 'The rule the field broke.';
--> statement-breakpoint
COMMENT ON COLUMN "rejected_items"."attempts" IS 'How many times the item was seen and failed.';
--> statement-breakpoint
COMMENT ON COLUMN "rejected_items"."first_seen_at" IS 'First failure.';
--> statement-breakpoint
COMMENT ON COLUMN "rejected_items"."last_seen_at" IS 'Latest failure.';
--> statement-breakpoint
COMMENT ON TABLE "projection_checkpoints" IS 'Internal: the last event applied by each rebuilt projection.';
--> statement-breakpoint
COMMENT ON COLUMN "projection_checkpoints"."name" IS 'The projection.';
--> statement-breakpoint
COMMENT ON COLUMN "projection_checkpoints"."last_seq" IS '`seq` of the last event it applied.';
--> statement-breakpoint
COMMENT ON COLUMN "projection_checkpoints"."updated_at" IS 'Last change of this row.';
--> statement-breakpoint
COMMENT ON VIEW "chats_current" IS 'Chats the accounts can see now (removed chats left out), flattened: creator, last message and flags as plain columns.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."account_id" IS 'The account that sees the chat.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."chat_id" IS 'The upstream chat id.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."name" IS 'Display name.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."chat_type" IS 'Chat type (see `chats.chat_type`).';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."participant_count" IS 'Participants as the upstream reports them.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."creator_id" IS 'User id of the creator.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."creator_name" IS 'Display name of the creator.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."created_time" IS 'Creation time.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."last_modified_time" IS 'Last activity or change.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."last_message_time" IS 'Time of the last message.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."last_message_id" IS 'Id of the last message.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."last_message_sender" IS 'User id of the last message''s sender.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."last_message_text" IS 'Text of the last message.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."last_message_type" IS 'Type of the last message, e.g. text.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."unread_message_count" IS 'Unread messages.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."unread_time" IS 'Time of the first unread message.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."unread" IS 'At least one unread message.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."pinned" IS 'Pinned.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."muted" IS 'Muted.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."closed" IS 'Closed.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."drafts" IS 'Holds an unsent draft.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."joined" IS 'Joined.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."parent_chat_id" IS 'Threads only: the parent chat.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."previous_titles" IS 'Earlier names.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."members_fetched_at" IS 'When the member list was last fetched.';
--> statement-breakpoint
COMMENT ON COLUMN "chats_current"."synced_at" IS 'When an observation last confirmed the row.';
--> statement-breakpoint
COMMENT ON VIEW "unread_by_chat_type" IS 'Per account and chat type: how many chats there are, how many have unread messages, and how many unread messages they hold (removed chats left out).';
--> statement-breakpoint
COMMENT ON COLUMN "unread_by_chat_type"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "unread_by_chat_type"."chat_type" IS 'Chat type.';
--> statement-breakpoint
COMMENT ON COLUMN "unread_by_chat_type"."chats" IS 'Chats of this type.';
--> statement-breakpoint
COMMENT ON COLUMN "unread_by_chat_type"."unread_chats" IS 'Chats of this type with at least one unread message.';
--> statement-breakpoint
COMMENT ON COLUMN "unread_by_chat_type"."unread_messages" IS 'Unread messages over these chats.';
--> statement-breakpoint
COMMENT ON COLUMN "unread_by_chat_type"."muted_unread_chats" IS 'Unread chats of this type that are muted.';
--> statement-breakpoint
COMMENT ON COLUMN "unread_by_chat_type"."oldest_unread_time" IS 'The earliest first-unread-message time over these chats.';
--> statement-breakpoint
COMMENT ON VIEW "activity_per_day" IS 'Events per account, UTC day and event type, from the event log. The day is the upstream time of the change (`occurred_at`) when known, else when it was recorded.';
--> statement-breakpoint
COMMENT ON COLUMN "activity_per_day"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "activity_per_day"."day" IS 'UTC day of the change.';
--> statement-breakpoint
COMMENT ON COLUMN "activity_per_day"."type" IS 'Event type, e.g. LastMessageChanged (a chat got a new message), ChatRenamed, MembersChanged.';
--> statement-breakpoint
COMMENT ON COLUMN "activity_per_day"."events" IS 'Events of this type on that day.';
--> statement-breakpoint
COMMENT ON COLUMN "activity_per_day"."chats" IS 'Distinct chats these events are about.';
--> statement-breakpoint
COMMENT ON VIEW "chat_renames" IS 'Every rename the mirror saw or made, from the ChatRenamed events.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_renames"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_renames"."chat_id" IS 'The renamed chat.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_renames"."seq" IS 'The event''s position in the log.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_renames"."old_title" IS 'Name before.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_renames"."new_title" IS 'Name after.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_renames"."renamed_at" IS 'Upstream time of the change when known, else when it was recorded.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_renames"."recorded_at" IS 'When the mirror recorded it.';
--> statement-breakpoint
COMMENT ON VIEW "chat_member_counts" IS 'Per chat (removed chats left out): the upstream participant count beside the number of mirrored members, and whether the mirrored list is stale.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_member_counts"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_member_counts"."chat_id" IS 'The chat.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_member_counts"."name" IS 'Display name.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_member_counts"."chat_type" IS 'Chat type.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_member_counts"."participant_count" IS 'Participants as the upstream reports them.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_member_counts"."members_mirrored" IS 'Rows in chat_members for this chat.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_member_counts"."members_fetched_at" IS 'When the member list was last fetched; null when never.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_member_counts"."stale_reason" IS 'never_fetched, or count_differs when members_mirrored is not participant_count; null when the list looks current.';
--> statement-breakpoint
COMMENT ON COLUMN "chat_member_counts"."stale" IS 'stale_reason is not null.';
--> statement-breakpoint
COMMENT ON VIEW "stale_member_lists" IS 'The rows of chat_member_counts whose member list is stale, with how long ago it was fetched.';
--> statement-breakpoint
COMMENT ON COLUMN "stale_member_lists"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "stale_member_lists"."chat_id" IS 'The chat.';
--> statement-breakpoint
COMMENT ON COLUMN "stale_member_lists"."name" IS 'Display name.';
--> statement-breakpoint
COMMENT ON COLUMN "stale_member_lists"."chat_type" IS 'Chat type.';
--> statement-breakpoint
COMMENT ON COLUMN "stale_member_lists"."participant_count" IS 'Participants as the upstream reports them.';
--> statement-breakpoint
COMMENT ON COLUMN "stale_member_lists"."members_mirrored" IS 'Rows in chat_members for this chat.';
--> statement-breakpoint
COMMENT ON COLUMN "stale_member_lists"."members_fetched_at" IS 'When the member list was last fetched; null when never.';
--> statement-breakpoint
COMMENT ON COLUMN "stale_member_lists"."stale_reason" IS 'never_fetched or count_differs.';
--> statement-breakpoint
COMMENT ON COLUMN "stale_member_lists"."fetched_age" IS 'Time since the last fetch; null when never fetched.';
--> statement-breakpoint
COMMENT ON VIEW "command_outcomes_per_day" IS 'Commands per account, UTC day of intake and command type, by outcome.';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."day" IS 'UTC day the commands were taken in.';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."type" IS 'Command type.';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."commands" IS 'Commands taken in.';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."succeeded" IS 'Commands that succeeded (coalesced ones included).';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."coalesced" IS 'Succeeded commands carried by another command''s upstream call (superseded_by set).';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."failed" IS 'Commands that failed for good (until retried).';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."cancelled" IS 'Commands cancelled before they started.';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."pending" IS 'Commands queued, waiting for rate budget or running.';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."attempts" IS 'Upstream attempts over these commands.';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."operator_retries" IS 'Times an operator put one of these commands back.';
--> statement-breakpoint
COMMENT ON COLUMN "command_outcomes_per_day"."mean_time_to_success" IS 'Mean time from intake to success over the succeeded commands.';
--> statement-breakpoint
COMMENT ON VIEW "sync_health" IS 'Per account: the health of its sync streams, from sync_state.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."account_id" IS 'The account.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."streams" IS 'Sync streams that have run.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."failing_streams" IS 'Streams whose last run failed (backing off).';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."failing_stream_names" IS 'Their names; null when none fails.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."max_consecutive_failures" IS 'The most consecutive failures of any stream.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."least_recent_success_at" IS 'The oldest last success over the streams that have completed a pass.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."least_recent_success_age" IS 'Time since then.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."last_run_at" IS 'When any stream last ran.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."incremental_high_water" IS 'Upstream time up to which every change has been read (incremental stream).';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."last_error" IS 'The most recent error of a failing stream, with the stream''s name added.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."chats_observed" IS 'Chats observed over all streams.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."events_appended" IS 'Events appended over all streams.';
--> statement-breakpoint
COMMENT ON COLUMN "sync_health"."healthy" IS 'No stream is failing.';
--> statement-breakpoint
-- Roles are cluster-wide and several databases (tests clone many) migrate at once: create it once, tolerate the race.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cliq_mirror_reader') THEN
    CREATE ROLE cliq_mirror_reader NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO cliq_mirror_reader;
--> statement-breakpoint
GRANT SELECT ON ALL TABLES IN SCHEMA public TO cliq_mirror_reader;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO cliq_mirror_reader;
