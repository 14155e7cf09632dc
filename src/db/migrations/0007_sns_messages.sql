-- SNS messages already acted on (src/db/sns-messages.ts): a SubscriptionConfirmation is confirmed once per
-- MessageId, and a replay of it is refused. Rows are purged once they are older than twice the Timestamp
-- window the ingress accepts (src/triggers/sns.ts SNS_REPLAY_WINDOW_MS), since older messages are refused
-- by their Timestamp anyway.

create table sns_messages (
  message_id text primary key,
  topic_arn text not null,
  type text not null,
  received_at timestamptz not null default now()
);

create index sns_messages_received_idx on sns_messages (received_at);
