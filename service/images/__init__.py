"""Images: the one guarded fetcher (``fetch``), decoding (``decode``) and loading (``loader``)."""
