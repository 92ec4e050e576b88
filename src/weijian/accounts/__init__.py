"""Users, roles and permissions, log-in sessions and API tokens, and the append-only audit log."""
