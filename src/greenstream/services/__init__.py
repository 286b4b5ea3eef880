"""Use cases that combine the layers below (store, io, accounting): upload and seal a batch."""
