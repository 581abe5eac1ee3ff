"""Kafka stream-processing pipeline that fills Python method stubs with generated code."""

__version__ = "0.1.0"
