"""EXPLAIN (FORMAT JSON) plans as a flat list of nodes, on one server and on Citus."""

from __future__ import annotations

import re
from typing import Any

# A shard's copy of a table or index is named after it with the shard id appended.
_SHARD = re.compile(r"_\d{4,}$")


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a plan, flattened; on Citus, the nodes each task runs on its shard too,
    their table and index names without the shard id (``sessions_pkey_102008`` is
    ``sessions_pkey``)."""
    node = dict(plan)
    for key in ("Index Name", "Relation Name"):
        if isinstance(node.get(key), str):
            node[key] = _SHARD.sub("", node[key])
    nodes = [node]
    for child in plan.get("Plans", []):
        nodes.extend(plan_nodes(child))
    for task in plan.get("Distributed Query", {}).get("Job", {}).get("Tasks", []):
        for remote in task.get("Remote Plan", []):
            for entry in remote:
                nodes.extend(plan_nodes(entry["Plan"]))
    return nodes
