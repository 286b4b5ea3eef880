"""Where telemetry comes from: files, an HTTP endpoint, MQTT topics, a NATS JetStream consumer.

Every source hands micro-batches to :class:`greenstream.monitoring.ingest.Ingestor` and
acknowledges (or checkpoints) only what the ingestor has committed.
"""
