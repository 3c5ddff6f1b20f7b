"""ThoughtSpace's Django database backend over libsql-experimental.

Use it as ``ENGINE = "syncops.backend"``.
"""
