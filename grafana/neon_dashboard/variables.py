"""The dashboard's variables: the Prometheus datasource, then the API keys and projects that
filter the health and data panels."""

from __future__ import annotations

from neon_dashboard.panels import DS, Json


def _query_var(name: str, label: str, query: str, description: str, regex: str = "") -> Json:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": query,
        "regex": regex,
        "refresh": 2,  # on time range change: new keys and projects appear
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "description": description,
    }


def variables() -> list[Json]:
    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "options": [],
            "regex": "",
            "description": "The Prometheus that scrapes neon-exporter.",
        },
        _query_var(
            "key",
            "API key",
            "label_values(neon_exporter_poll_success, key)",
            "Configured key names (never the keys): filters the health panels.",
        ),
        _query_var(
            "project",
            "Project",
            "query_result(max by (project_id, project_name) (neon_project_info))",
            "Neon projects, shown by name: filters the project, usage, compute and branch panels.",
            # query_result prints labels sorted: project_id comes before project_name.
            regex='/project_id="(?<value>[^"]*)",project_name="(?<text>[^"]*)"/',
        ),
    ]
