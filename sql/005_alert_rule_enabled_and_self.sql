-- Rules carry an enabled flag: deleting a default rule keeps a disabled row, so the default
-- set does not bring it back, and applying a rule of that name enables it again. A new kind,
-- 'self', is the daemon watching itself: a dead-lettered notification fires an alert of the
-- programme's default rule "notification-delivery", told to the programme's other receivers.
ALTER TABLE alert_rule ADD COLUMN enabled boolean NOT NULL DEFAULT true;
ALTER TABLE alert_rule DROP CONSTRAINT alert_rule_kind_check;
ALTER TABLE alert_rule ADD CONSTRAINT alert_rule_kind_check
    CHECK (kind IN ('threshold', 'spc', 'trajectory', 'late_feed', 'completeness', 'self'));
