"""KeyRotationFunction: scheduled reconciler of the signing keys, plus rotate-now and revoke."""
