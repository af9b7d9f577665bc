"""Images: decoding (``decode``) and loading (``loader``); the bytes come through ``service.fetch``."""
