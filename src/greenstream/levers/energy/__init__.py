"""Warehouse and park energy: sites and meters, PV yield, time-of-use tariffs, battery dispatch,
Scope 2 (location- and market-based), hub operation categories from site data, and the savings of
equipment and practices. Every emission figure comes from :mod:`greenstream.accounting`.

One concern per module: :mod:`.sites`, :mod:`.meters`, :mod:`.pv`, :mod:`.tariffs`,
:mod:`.dispatch`, :mod:`.grid`, :mod:`.certificates`, :mod:`.scope2`, :mod:`.hubs`,
:mod:`.equipment`, :mod:`.fleet` (many sites at once), :mod:`.synth` (synthetic sites) and
:mod:`.cli`. Heavy libraries (pvlib, highspy, holidays, PyYAML: the ``energy`` extra) are
imported inside the functions that need them.
"""
