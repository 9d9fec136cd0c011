#!/usr/bin/env python3
"""Validates packaging/grafana/larder-dashboard.json (installed by the .deb to
/usr/share/larder/grafana/): valid JSON in Grafana's dashboard model, unique
panel ids, panels inside the 24-column grid without overlaps, every query on
the datasource variable, and every metric it names in src/base/
metric_catalog.cc (a renamed metric fails here, not silently in Grafana).
Usage: grafana_dashboard_test.py SOURCE_DIR"""
import json
import re
import sys

# Metrics of the per-route contract (issue 15 item 1) that another change
# adds to the catalog; accepted until then.
PENDING = {"larder_route_requests_total"}


def main(source_dir):
    problems = []
    path = f"{source_dir}/packaging/grafana/larder-dashboard.json"
    with open(path, encoding="utf-8") as f:
        dashboard = json.load(f)
    with open(f"{source_dir}/src/base/metric_catalog.cc", encoding="utf-8") as f:
        catalog = set(re.findall(r'"(larder_[a-z0-9_]+)"', f.read()))
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        if key not in dashboard:
            problems.append(f"no {key}")
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    if not {"datasource", "instance"} <= variables:
        problems.append(f"variables: {variables}")
    ids = set()
    cells = {}
    queries = 0
    for panel in dashboard["panels"]:
        pid = panel.get("id")
        if pid in ids or not isinstance(pid, int):
            problems.append(f"panel id {pid} repeated or not a number")
        ids.add(pid)
        grid = panel["gridPos"]
        if grid["x"] < 0 or grid["w"] <= 0 or grid["x"] + grid["w"] > 24 or grid["h"] <= 0:
            problems.append(f"panel {pid} outside the grid: {grid}")
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                if (x, y) in cells:
                    problems.append(f"panels {cells[(x, y)]} and {pid} overlap at {(x, y)}")
                cells[(x, y)] = pid
        if panel["type"] == "row":
            continue
        if not panel.get("title"):
            problems.append(f"panel {pid} has no title")
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel {pid} is not on the datasource variable")
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"panel {pid} has no query")
        for target in targets:
            queries += 1
            expr = target["expr"]
            if expr.count("(") != expr.count(")") or expr.count("{") != expr.count("}"):
                problems.append(f"panel {pid}: unbalanced {expr}")
            if 'instance=~"$instance"' not in expr:
                problems.append(f"panel {pid}: no instance filter in {expr}")
            for name in re.findall(r"\blarder_[a-z0-9_]+", expr):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if name not in catalog and base not in catalog and name not in PENDING:
                    problems.append(f"panel {pid}: unknown metric {name}")
    if queries < 10:
        problems.append(f"only {queries} queries")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    print(f"{path}: {len(dashboard['panels'])} panels, {queries} queries, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
