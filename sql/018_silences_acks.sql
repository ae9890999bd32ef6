-- Acknowledgements by a person, and Alertmanager-style silence matchers (docs/ARCHITECTURE.md,
-- "Silences and acknowledgements").

-- acked_by was the token's name; it is now the person (the API body's "by", the CLI's user,
-- the e-mail link's receiver address), with an optional comment and the credential it came
-- through (a token's name). Existing acknowledgements keep the token's name as their person.
ALTER TABLE alert ADD COLUMN ack_comment text, ADD COLUMN ack_token text;
UPDATE alert SET ack_token = acked_by WHERE acked_at IS NOT NULL;
