"""Publish a built incident's post-mortem where the team reads it: Confluence, Google Docs,
Slack, Jira. Each target updates what it published before (the catalog's
`incident_publications`), so publishing again never duplicates."""
