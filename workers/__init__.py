"""Dramatiq: the broker (`broker.py`) and actors grouped by area.

Every actor module imports `workers.broker` first, so its decorators bind to our broker.
`botfleet worker` runs `dramatiq workers.actors`, which imports them all.
"""
