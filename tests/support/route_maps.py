"""Route maps the size of enterprise APIs, generated deterministically (tests and `make bench` share them).

``enterprise_map(n)`` has ``n`` routes over a tree of resources: literal segments, parameters under
parameters, greedy ``{proxy+}`` leaves and several methods per resource (some ``ANY``), at most eight
segments deep, each route needing one or two of 24 scopes.  ``concrete_path(template)`` is a canonical
request path for a template.
"""

from __future__ import annotations

import random

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "ANY")
SCOPE_POOL = tuple(f"area{i}:{verb}" for i in range(12) for verb in ("read", "write"))
MAX_DEPTH = 8


def enterprise_map(size: int, seed: int = 12) -> dict[str, list[str]]:
    rnd = random.Random(seed)
    mapping: dict[str, list[str]] = {}
    resources = ["/"]
    while len(mapping) < size:
        parent = rnd.choice(resources)
        base = "" if parent == "/" else parent
        depth = base.count("/")
        if "+}" in base or depth >= MAX_DEPTH:
            continue
        draw = rnd.random()
        if draw < 0.55:
            segment = f"res{len(resources)}"
        elif draw < 0.92:
            segment = f"{{p{base.count('{')}}}"
        else:
            segment = "{proxy+}"
        path = f"{base}/{segment}"
        siblings = {r.rsplit("/", 1)[-1] for r in resources if r.rsplit("/", 1)[0] == base}
        if path in resources or (segment.startswith("{") and any(s.startswith("{") for s in siblings)):
            continue  # one parameter child per resource, as API Gateway allows
        resources.append(path)
        for method in rnd.sample(METHODS, rnd.randint(1, 3)):
            if len(mapping) < size:
                mapping[f"{method} {path}"] = sorted(rnd.sample(SCOPE_POOL, rnd.randint(1, 2)))
    return mapping


def concrete_path(template: str) -> str:
    """A canonical request path (no leading slash, as in a method ARN) for ``template``."""
    parts = []
    for segment in template.strip("/").split("/"):
        if segment.endswith("+}"):
            parts.append("deep/er")
        elif segment.startswith("{"):
            parts.append("v42")
        else:
            parts.append(segment)
    return "/".join(parts)
