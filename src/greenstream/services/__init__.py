"""Use cases that combine the layers below (store, io, accounting) for the CLI, API and reports."""
