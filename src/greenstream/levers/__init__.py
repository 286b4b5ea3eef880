"""Reduction levers: each builds alternative chains of transport and hub elements and prices them
with the one accounting kernel, against a baseline (routing/, and later packaging/, energy/)."""
