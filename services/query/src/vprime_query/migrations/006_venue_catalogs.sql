-- Each venue's market catalog as the router last published it (market.catalog.v1): what a user choosing venues
-- sees. A DEGRADED event (the sync failed) carries no markets: the counts of the last good sync stay.
CREATE TABLE venue_catalogs (
    venue                 TEXT PRIMARY KEY,
    status                TEXT NOT NULL,
    synced_at             TIMESTAMPTZ NOT NULL,
    pairs                 INT,
    open_pairs            INT,
    short_pairs           INT,
    asset_classes         JSONB,
    median_taker_fee_bps  DOUBLE PRECISION,
    max_leverage          DOUBLE PRECISION,
    error                 TEXT,
    updated_at            TIMESTAMPTZ NOT NULL
);
