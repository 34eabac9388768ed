-- The periodic re-score visits leads with engagement points, oldest score first.
CREATE INDEX leads_rescore ON leads (scored_at) WHERE engagement <> 0;
