"""Tamper-evident audit trail: per-tenant hash chain of stored footprints, and its verification."""
