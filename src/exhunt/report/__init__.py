"""Renderers of the result document; they read only the document."""
