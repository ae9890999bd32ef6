-- The last period an aggregate rule's gate decided for its subject (core/rules.h,
-- rule_aggregate_gate) when that is after last_period: a due month skipped as missing (below
-- min_coverage) is decided but never fed. The due-date sweep (services/evaluator.c,
-- evaluator_sweep_aggregates) judges a subject's months that waited, partial, before their
-- due date once it has passed; it looks only at rollup points after both last_period and
-- gated_through, so a month it judged or skipped is not looked at again. NULL: nothing
-- decided after last_period.
ALTER TABLE aggregate_detector_state ADD COLUMN gated_through date;
