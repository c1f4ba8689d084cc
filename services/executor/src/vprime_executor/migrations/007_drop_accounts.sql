-- Orders go to a venue when the deployment holds an agent key for it (credentials), so the
-- projection of deployments' public venue addresses is read by nothing.
DROP TABLE accounts;
