"""Concept linking: knowledge bases built from packaged vocabularies (``kb``), scispaCy's
TF-IDF + ANN candidate index over them (``index``), and the scoring of candidates (``link``).
The spaCy component is ``clinnlp_linker`` in :mod:`clinnlp.pipeline`."""
