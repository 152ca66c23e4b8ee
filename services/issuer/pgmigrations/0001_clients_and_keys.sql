-- Clients and signing keys. Each row holds the record as JSON; a signing
-- key's private JWK is stored encrypted (AES-256-GCM under the key-encryption
-- key, the key ID as associated data), never in the clear.
CREATE TABLE clients (
	id  text PRIMARY KEY,
	doc jsonb NOT NULL
);
CREATE TABLE signing_keys (
	kid         text PRIMARY KEY,
	position    integer NOT NULL UNIQUE, -- oldest first
	doc         jsonb NOT NULL,          -- the key without its private part
	private_enc bytea NOT NULL
);
-- Bumped by every change, so that replicas can tell when to reload.
CREATE TABLE revisions (
	name text PRIMARY KEY,
	rev  bigint NOT NULL
);
INSERT INTO revisions (name, rev) VALUES ('clients', 0), ('keys', 0);
