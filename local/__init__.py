"""The Docker-free local stack (``make dev``): template.yaml's APIs and functions on 127.0.0.1.

``python -m local`` starts it (see :mod:`local.stack` and docs/local-stack.md);
``python -m local.invoke FUNCTION EVENT`` runs one function once against it.
"""
