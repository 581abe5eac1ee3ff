"""Pure stage logic: no Kafka imports anywhere below this package."""
