"""Practical projects for the people (为民办实事, issue 18 part 2): projects, milestones, progress entered or
computed, and 序时进度 (progress against the calendar)."""
