"""Assertion: is an event the patient's, present, negated, hypothetical, historical...?

:mod:`clinnlp.assertion.context` is the ConText algorithm as pure functions, its rules in
``rules.tsv``; the spaCy component is ``clinnlp_context`` in :mod:`clinnlp.pipeline`.
"""
