"""Knowledge: documents a chatbot answers from — upload, ingestion, search."""
