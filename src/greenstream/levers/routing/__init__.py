"""Green multimodal routing (placeholder, filled below)."""
