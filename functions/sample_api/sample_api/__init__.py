"""Backend of the sample protected API (placeholder until its owner replaces it)."""
