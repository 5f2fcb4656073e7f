"""Chat: sessions (anonymous in Redis, signed-in in the database) and the answer engine."""
