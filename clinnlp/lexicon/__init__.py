"""Word lists the pipeline and training read: drug names (:mod:`clinnlp.lexicon.vocabulary`,
with the guideline's drug words of ``drug_terms.tsv``) and the words that end a finding's name
(``finding_words.txt``). Data, not model parts."""
