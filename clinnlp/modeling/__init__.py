"""The models: the windowed transformer tagger (``tagger``), its pure word/BIO/window
algorithms (``align``) and the drug vocabulary (``vocabulary``)."""
