"""Chronic-disease management (慢病管理): registrations, follow-ups, the worklist and the rates."""
