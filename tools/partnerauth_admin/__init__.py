"""partnerauth-admin: the operator's tool for partner clients (ClientsTable).

Run from the repository root::

    python -m tools.partnerauth_admin --stack-name partnerauth-dev list

See ``docs/token-endpoint.md`` ("Admin CLI") for every command.
"""
