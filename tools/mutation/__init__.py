"""Mutation testing of the security checks (issue 20): `make mutate`, never part of `make test`."""
