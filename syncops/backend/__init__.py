"""ThoughtSpace's Django database backend over libsql-experimental (``ENGINE = "syncops.backend"``)."""
