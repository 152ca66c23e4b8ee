-- Revoked tokens (jti) and clients' tokens issued before a time, until the
-- last token they cover has expired. seq is taken under an advisory lock,
-- one writer at a time, so that it orders revocations as they commit: a
-- reader that has seen seq n has seen every revocation before it.
CREATE TABLE revocations (
	seq           bigserial PRIMARY KEY,
	client_id     text NOT NULL DEFAULT '',
	jti           text NOT NULL DEFAULT '',
	issued_before bigint NOT NULL DEFAULT 0, -- Unix seconds
	until         bigint NOT NULL            -- Unix seconds: dropped after this
);
CREATE INDEX revocations_until ON revocations (until);
-- The log's ID: seqs compare only within one log, so a reader that finds
-- another (a store migrated or recreated) reads it again from the start.
CREATE TABLE revocation_log (id text NOT NULL);
INSERT INTO revocation_log (id) VALUES (md5(random()::text || clock_timestamp()::text));
