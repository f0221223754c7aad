"""The single statements in which PostgreSQL builds a scenario's whole answer.

``$1`` is the SHA-256 digest of the bearer token, checked in the same statement.
"""

TOKEN_SQL = "SELECT organization_id FROM api_token WHERE digest = $1"

PORTFOLIO_SQL = """
SELECT json_build_object('data', json_build_object('projects', json_build_object('nodes', coalesce(json_agg(
  json_build_object(
    'key', p.key, 'name', p.name, 'progress', p.progress,
    'health', json_build_object('health', upper(coalesce(p.health_override, p.health))),
    'manager', CASE WHEN m.id IS NULL THEN NULL ELSE json_build_object('name', m.name, 'email', m.email) END,
    'tasks', json_build_object('nodes', (
      SELECT coalesce(json_agg(json_build_object(
        'key', p.key || '-' || t.key_number, 'title', t.title,
        'assignee', CASE WHEN a.id IS NULL THEN NULL ELSE json_build_object('name', a.name, 'email', a.email) END
      ) ORDER BY t.created_at DESC), '[]')
      FROM (SELECT * FROM task WHERE task.project_id = p.id ORDER BY created_at DESC LIMIT 5) t
      LEFT JOIN user_account a ON a.id = t.assignee_id
    ))
  ) ORDER BY p.key), '[]'))))::text
FROM (
  SELECT * FROM project
  WHERE organization_id = (SELECT organization_id FROM api_token WHERE digest = $1)
  ORDER BY key LIMIT 200
) p
LEFT JOIN user_account m ON m.id = p.manager_id
"""

PROJECT_PAGE_SQL = """
SELECT json_build_object('data', json_build_object('project', (
  SELECT json_build_object('key', p.key, 'name', p.name, 'tasks', json_build_object('nodes', (
    SELECT coalesce(json_agg(json_build_object(
      'key', p.key || '-' || t.key_number, 'title', t.title, 'state', json_build_object('key', t.state),
      'assignee', CASE WHEN a.id IS NULL THEN NULL ELSE json_build_object('name', a.name, 'email', a.email) END,
      'predecessors', (
        SELECT coalesce(json_agg(json_build_object(
          'type', upper(d.type), 'lagDays', d.lag_days,
          'predecessor', json_build_object('key', pp.key || '-' || pt.key_number)
        ) ORDER BY pt.key_number), '[]')
        FROM dependency d
        JOIN task pt ON pt.id = d.predecessor_id
        LEFT JOIN project pp ON pp.id = pt.project_id
        WHERE d.successor_id = t.id
      )
    ) ORDER BY t.rank, t.id), '[]')
    FROM (SELECT * FROM task WHERE task.project_id = p.id ORDER BY rank, id LIMIT 50) t
    LEFT JOIN user_account a ON a.id = t.assignee_id
  )))
  FROM project p
  WHERE p.organization_id = (SELECT organization_id FROM api_token WHERE digest = $1) AND p.key = $2
)))::text
"""
