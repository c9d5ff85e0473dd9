-- The records that must outlive Redis: ledger entries, the events of the outbox, finished jobs.

-- One row per upstream call that charged or may have charged; the id (`<job id>#<attempt>`) is
-- unique, so a record moved twice (a sink that died before trimming Redis) is stored once.
CREATE TABLE ledger_entries (
  id text PRIMARY KEY,
  at timestamptz NOT NULL,
  account text NOT NULL,
  provider text NOT NULL,
  operation text NOT NULL,
  shop text NOT NULL,
  order_ref text NOT NULL,
  job_id text NOT NULL,
  attempt integer NOT NULL,
  -- numeric: the decimal the upstream reported, summed exactly.
  amount numeric,
  status text NOT NULL CHECK (status IN ('charged', 'unknown')),
  CHECK ((status = 'charged') = (amount IS NOT NULL))
);

-- Every event of the outbox, keyed by its stream id (`<ms>-<seq>`, unique within one stream).
CREATE TABLE events (
  stream_id text PRIMARY KEY,
  ms bigint NOT NULL,
  seq bigint NOT NULL,
  type text NOT NULL,
  at timestamptz NOT NULL,
  data jsonb NOT NULL
);

-- The last word on each finished job: job.completed or job.dead, whichever event came later
-- (a dead job redriven and then completed ends completed).
CREATE TABLE jobs (
  queue text NOT NULL,
  id text NOT NULL,
  name text NOT NULL,
  account text NOT NULL,
  state text NOT NULL CHECK (state IN ('completed', 'dead')),
  finished_at timestamptz NOT NULL,
  result jsonb,
  charge numeric,
  code integer,
  message text,
  reason text,
  attempts_made integer,
  -- The stream id of the event this row holds, as numbers: a replayed older event changes nothing.
  event_ms bigint NOT NULL,
  event_seq bigint NOT NULL,
  PRIMARY KEY (queue, id)
);
