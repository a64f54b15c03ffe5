"""Pydantic models at the boundaries: stored/imported events, API responses, sites."""
