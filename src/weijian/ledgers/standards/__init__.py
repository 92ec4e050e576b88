"""Facility standardisation (优质服务基层行, 村卫生室规范化建设): checklists as data, assessments."""
