"""Use cases that combine the layers below (store, io, accounting) for the CLI, API and reports:
upload and seal a batch, analytics roll-ups on the store."""
