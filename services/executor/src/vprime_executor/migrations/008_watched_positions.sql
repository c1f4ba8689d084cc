-- Ticks look only at positions a tick can close (a take-profit, or a stop of a type that trails or stops
-- out): a position without either stays open until it is closed otherwise, whatever the price does.
ALTER TABLE positions ADD COLUMN watched BOOLEAN NOT NULL DEFAULT true;
UPDATE positions SET watched = (payload -> 'extra' -> 'risk_model' ->> 'take_profit') IS NOT NULL
    OR ((payload -> 'extra' -> 'risk_model' ->> 'stop') IS NOT NULL
        AND coalesce(payload -> 'extra' -> 'risk_model' ->> 'type', 'none') <> 'none');
CREATE INDEX positions_watched ON positions (instrument, venue) WHERE state = 'OPEN' AND watched;
