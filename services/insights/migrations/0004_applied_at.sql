-- When insights last applied events. It applies what waits for it after a burst of leads (at
-- most LEADFLOW_INSIGHTS_APPLY_MAX_HOLD_S late, see shared/bus/settling.py), so its pages
-- say how fresh their figures are. One row; no lead data.
CREATE TABLE applied (
    only_row   boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    applied_at timestamptz NOT NULL
);
