"""Monitoring: telemetry ingestion (files, HTTP, MQTT, NATS JetStream) with validation,
quarantine, exactly-once state and live windowed aggregates; trip and mode detection.

Ingestion (this package's ``records``, ``ingest``, ``state``, ``aggregates``, ``sources``):
see docs/monitoring-ingest.md.
"""
