-- The jti of every accepted private_key_jwt assertion, until it can no
-- longer validate: shared by every replica, so none accepts a replay.
CREATE TABLE used_assertions (
	client_id text NOT NULL,
	jti       text NOT NULL,
	until     timestamptz NOT NULL,
	PRIMARY KEY (client_id, jti)
);
CREATE INDEX used_assertions_until ON used_assertions (until);
