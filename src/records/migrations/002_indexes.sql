-- The queries of the read path: entries in time order (ties by id), jobs by id alone, jobs listed
-- by account or state or queue, newest first.
-- id in byte order ("C"): the order of the Redis index, which the opaque cursors follow.
CREATE INDEX ledger_entries_at_id ON ledger_entries (at, id COLLATE "C");
CREATE INDEX events_type_ms ON events (type, ms, seq);
CREATE INDEX jobs_id ON jobs (id);
CREATE INDEX jobs_finished ON jobs (finished_at DESC, queue DESC, id DESC);
CREATE INDEX jobs_account_finished ON jobs (account, finished_at DESC, queue DESC, id DESC);
CREATE INDEX jobs_state_finished ON jobs (state, finished_at DESC, queue DESC, id DESC);
