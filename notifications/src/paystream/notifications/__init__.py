"""Payment providers' notifications as a library: one folder per provider, listed once in
`registry`; pure (no Kafka, no web framework, the clock is an argument)."""
