"""Kafka mechanisms: the keyed publisher, the batch consumer with dead letters, topics."""
