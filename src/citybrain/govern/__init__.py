"""Data governance: standardisation, validation, quality, identity resolution, base databases."""
