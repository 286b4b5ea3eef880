"""The accounting kernel (ISO 14083 / GLEC v3): chain elements + factors -> emissions."""

from greenstream.accounting.kernel import (
    JobContext,
    ReferenceTables,
    compute,
    compute_lazy,
    modelled_intensity_ttw_kg_per_tkm,
    prepare_job,
    shipments_lazy,
    transport_activity_tkm,
    trip_emissions,
)

__all__ = [
    "JobContext",
    "ReferenceTables",
    "compute",
    "compute_lazy",
    "modelled_intensity_ttw_kg_per_tkm",
    "prepare_job",
    "shipments_lazy",
    "transport_activity_tkm",
    "trip_emissions",
]
