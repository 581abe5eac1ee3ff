"""Connecting to Kafka: the local broker, client options, topic administration."""
