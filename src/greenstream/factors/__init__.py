"""Emission factors: packaged open sets (DESNZ 2025, MEE/NBS grid, EN 16258, ...) and user imports.

See :mod:`greenstream.factors.registry` for the long CSV schema, precedence and versioning.
"""

from greenstream.factors.registry import (
    CATEGORIES,
    SCHEMA_COLUMNS,
    Registry,
    import_factor_file,
    load_factor_file,
    user_factor_paths,
)

__all__ = [
    "CATEGORIES",
    "SCHEMA_COLUMNS",
    "Registry",
    "import_factor_file",
    "load_factor_file",
    "user_factor_paths",
]
