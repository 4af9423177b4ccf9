"""webhook-ingest: verifies provider webhooks and publishes them to Kafka; stateless."""
