"""Supervisor console and REST API (FastAPI).  Entry point: `ivr.web.app.create_app(settings)`."""
