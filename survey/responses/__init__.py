"""Responses: the one answer encoding, the rules an answer must meet, and storing a response."""
