-- Acknowledgements by a person, and Alertmanager-style silence matchers (docs/ARCHITECTURE.md,
-- "Silences and acknowledgements").

-- acked_by was the token's name; it is now the person (the API body's "by", the CLI's user,
-- the e-mail link's receiver address), with an optional comment and the credential it came
-- through (a token's name). Existing acknowledgements keep the token's name as their person.
ALTER TABLE alert ADD COLUMN ack_comment text, ADD COLUMN ack_token text;
UPDATE alert SET ack_token = acked_by WHERE acked_at IS NOT NULL;

-- Matchers were an object of equality tests ({"indicator": "x", "site": "y"}); they are now
-- a list of Alertmanager matchers ({"name","value","isRegex","isEqual"}, all of which must
-- hold), checked by core/silence_match.c. Each old test becomes one equality matcher.
UPDATE silence SET matchers = (
    SELECT coalesce(jsonb_agg(jsonb_build_object('name', m.key, 'value', m.value,
                                                 'isRegex', false, 'isEqual', true)
                              ORDER BY m.key), '[]'::jsonb)
    FROM jsonb_each_text(silence.matchers) m)
WHERE jsonb_typeof(matchers) = 'object';
ALTER TABLE silence ADD CONSTRAINT silence_matchers_list CHECK (jsonb_typeof(matchers) = 'array');
