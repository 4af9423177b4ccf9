-- Run once by the postgres image on an empty data volume (docker-compose.yml mounts this
-- directory at /docker-entrypoint-initdb.d). Same databases as deploy/local/infra.sh creates;
-- webhook-ingest is stateless and has none.
CREATE DATABASE paystream_checkout;
CREATE DATABASE paystream_ledger;
CREATE DATABASE paystream_invoicing;
