"""Sealing and hashing of records: canonical JSON, the hash chain rules and column digests.

The bottom layer shared by ``store`` (which seals each upload batch in the transaction that
writes it) and ``audit`` (which recomputes the seals). It imports neither: only the standard
library, Polars, pyarrow and numpy.

- :mod:`greenstream.seal.chain`: canonical JSON, record hashes, seal formats 1 and 2.
- :mod:`greenstream.seal.digest`: canonical column digests (seal format 2).
"""
