"""The review of an annotate run: a local page (:mod:`clinnlp.review.server`) over the
reviewer's decisions (:mod:`clinnlp.review.store`)."""
