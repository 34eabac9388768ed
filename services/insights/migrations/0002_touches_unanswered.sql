-- Rep touches after the lead's last response (NULL: it never responded): "stopped
-- responding" is this reaching insights.stopped_responding_after (domain/effort.py).
-- Rows folded before this column existed get it at their lead's next event or a rebuild.
ALTER TABLE lead_facts ADD COLUMN touches_unanswered int;
