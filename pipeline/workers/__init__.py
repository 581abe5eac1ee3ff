"""Kafka adapters: one Faust app per stage, thin agents around the processors."""
