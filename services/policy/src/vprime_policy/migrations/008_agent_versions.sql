-- An agent's version: what a batch of decisions checks and advances when it writes (optimistic concurrency, in place
-- of a lock held from the risk read to the commit). Decisions for any of the agent's deployments and registry updates
-- of them advance it, so a batch decided on a risk state or a deployment that changed since its read writes nothing
-- and is decided again. Per agent, since a signal is decided for all of its agent's deployments at once; in a narrow
-- table of its own, with room on each page, so that advancing a version is a small in-place (HOT) update.
CREATE TABLE agent_versions (
    agent_id  UUID PRIMARY KEY,
    version   BIGINT NOT NULL
) WITH (fillfactor = 50);
