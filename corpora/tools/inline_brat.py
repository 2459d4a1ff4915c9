"""Annotate a note by marking it up inline, and turn the markup into BRAT standoff.

The project's annotators copy a note's text, insert markup around each span, and let this
script compute every offset (never by hand). Markup, one span each, no nesting:

    [[lisinopril|Drug=a]]          a Drug with the id ``a`` (ids link events to drugs)
    [[aspirin|Drug]]               a Drug that no event needs (no id)
    [[angioedema|ADE<a]]           an ADE caused by drug ``a`` (a Causes link a -> this ADE)
    [[hives|ADE<a,b,c]]            one ADE caused by three drugs
    [[rash|ADE<a|Neg]]             a Negated ADE (``|Hyp``: Hypothetical)

Ids are any letters or digits, unique within a note; an ADE names at least one drug id.

Commands::

    python corpora/tools/inline_brat.py ann NOTE.txt MARKED.txt OUT.ann   # markup -> BRAT
    python corpora/tools/inline_brat.py show NOTE.txt NOTE.ann            # BRAT -> markup
    python corpora/tools/inline_brat.py check NOTE.txt NOTE.ann           # likely misses

``ann`` refuses markup whose text, once the markup is removed, differs from the note's (it
names the first differing offset), an ADE without a drug, an unknown or repeated id, and a
span with spaces at its edges. ``check`` lists what an annotator should look at again: a
marked drug's name unmarked elsewhere, and names of the packaged drug vocabulary left
unmarked (with the project's virtual environment).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

MARK = re.compile(r"\[\[([^\[\]|]+)\|([^\[\]]+?)\]\]")
LABEL = re.compile(r"(Drug)(?:=(\w+))?|(ADE)<([\w,]+)(?:\|(Neg|Hyp))?")
FLAGS = {"Neg": "Negated", "Hyp": "Hypothetical"}


@dataclass
class Span:
    label: str
    start: int
    end: int
    text: str
    key: str = ""  # a Drug's id in the markup
    causes: list[str] = field(default_factory=list)  # an ADE's drug ids
    flag: str = ""  # Negated or Hypothetical
    tid: str = ""  # its BRAT id


class MarkupError(ValueError):
    pass


def parse(marked: str) -> tuple[str, list[Span]]:
    """The plain text and the spans of a marked-up note."""
    plain: list[str] = []
    spans: list[Span] = []
    pos = 0
    length = 0
    for match in MARK.finditer(marked):
        before = marked[pos : match.start()]
        plain.append(before)
        length += len(before)
        text, label = match.group(1), match.group(2).strip()
        line = marked.count("\n", 0, match.start()) + 1
        m = LABEL.fullmatch(label)
        if m is None:
            raise MarkupError(f"line {line}: unknown label {label!r} in {match.group(0)!r}")
        if text != text.strip():
            raise MarkupError(f"line {line}: span {text!r} has spaces at its edge")
        if m.group(1):
            span = Span("Drug", length, length + len(text), text, key=m.group(2) or "")
        else:
            flag = FLAGS.get(m.group(5) or "", "")
            causes = [c for c in m.group(4).split(",") if c]
            span = Span("ADE", length, length + len(text), text, causes=causes, flag=flag)
        spans.append(span)
        plain.append(text)
        length += len(text)
        pos = match.end()
    plain.append(marked[pos:])
    rest = "".join(plain)
    stray = [s for s in ("[[", "]]") if s in rest]
    if stray:
        at = rest.index(stray[0])
        line = rest.count("\n", 0, at) + 1
        raise MarkupError(f"line {line}: unclosed or malformed markup near {rest[at : at + 40]!r}")
    return rest, spans


def to_brat(spans: list[Span]) -> str:
    """BRAT standoff of the spans: T lines, then R (Causes) and A (flag) lines."""
    keys: dict[str, str] = {}
    lines, rels, attrs = [], [], []
    for n, span in enumerate(sorted(spans, key=lambda s: (s.start, s.end)), 1):
        tid = f"T{n}"
        span_id = tid
        if span.key:
            if span.key in keys:
                raise MarkupError(f"drug id {span.key!r} is used twice")
            keys[span.key] = tid
        lines.append(f"{span_id}\t{span.label} {span.start} {span.end}\t{span.text}")
        span.tid = tid
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if span.label != "ADE":
            continue
        for key in span.causes:
            if key not in keys:
                raise MarkupError(
                    f"ADE {span.text!r} at {span.start} names unknown drug id {key!r}"
                )
            rels.append(f"R{len(rels) + 1}\tCauses Arg1:{keys[key]} Arg2:{span.tid}")  # type: ignore[attr-defined]
        if span.flag:
            attrs.append(f"A{len(attrs) + 1}\t{span.flag} {span.tid}")
    for a, b in zip(lines, lines[1:], strict=False):
        a_end, b_start = int(a.split("\t")[1].split()[2]), int(b.split("\t")[1].split()[1])
        if b_start < a_end:
            raise MarkupError(f"spans overlap: {a!r} and {b!r}")
    return "".join(f"{x}\n" for x in lines + rels + attrs)


def first_difference(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def cmd_ann(note: Path, marked: Path, out: Path) -> None:
    text = note.read_text(encoding="utf-8")
    plain, spans = parse(marked.read_text(encoding="utf-8"))
    if plain != text:
        at = first_difference(plain, text)
        raise MarkupError(
            f"text differs from {note.name} at offset {at}: "
            f"note has {text[at : at + 30]!r}, markup gives {plain[at : at + 30]!r}"
        )
    out.write_text(to_brat(spans), encoding="utf-8")
    n_drug = sum(s.label == "Drug" for s in spans)
    print(f"{out}: {n_drug} Drug, {len(spans) - n_drug} ADE")


def read_ann(text: str, ann: str) -> list[Span]:
    spans: dict[str, Span] = {}
    for line in ann.splitlines():
        if line.startswith("T"):
            tid, info, span_text = line.split("\t")
            label, start, end = info.split()
            spans[tid] = Span(label, int(start), int(end), span_text, key=tid)
            if text[int(start) : int(end)] != span_text:
                raise MarkupError(f"{tid}: text differs from the note at {start}-{end}")
    for line in ann.splitlines():
        if line.startswith("R"):
            _, info = line.split("\t")[:2]
            _, a1, a2 = info.split()
            spans[a2.split(":")[1]].causes.append(a1.split(":")[1])
        elif line.startswith("A"):
            _, info = line.split("\t")[:2]
            flag, target = info.split()[:2]
            spans[target].flag = flag
    return sorted(spans.values(), key=lambda s: s.start)


def render(text: str, spans: list[Span]) -> str:
    out, pos = [], 0
    linked = {c for s in spans for c in s.causes}
    for s in spans:
        out.append(text[pos : s.start])
        if s.label == "Drug":
            label = f"Drug={s.key}" if s.key in linked else "Drug"
        else:
            flag = {"Negated": "|Neg", "Hypothetical": "|Hyp"}.get(s.flag, "")
            label = f"ADE<{','.join(s.causes)}{flag}"
        out.append(f"[[{s.text}|{label}]]")
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


def cmd_show(note: Path, ann: Path) -> None:
    text = note.read_text(encoding="utf-8")
    sys.stdout.write(render(text, read_ann(text, ann.read_text(encoding="utf-8"))))


def cmd_check(note: Path, ann: Path) -> None:
    text = note.read_text(encoding="utf-8")
    spans = read_ann(text, ann.read_text(encoding="utf-8"))
    covered = [(s.start, s.end) for s in spans]

    def unmarked(start: int, end: int) -> bool:
        return not any(a < end and start < b for a, b in covered)

    def line_of(at: int) -> int:
        return text.count("\n", 0, at) + 1

    names = {s.text.lower() for s in spans if s.label == "Drug"}
    for name in sorted(names):
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE):
            if unmarked(m.start(), m.end()):
                print(f"line {line_of(m.start())}: {m.group(0)!r} unmarked (marked elsewhere)")
    try:
        from drug_named_entity_recognition import find_drugs
    except ImportError:
        print("(drug vocabulary not installed: run with the project's .venv for more checks)")
        return
    words = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[A-Za-z][\w\-]*", text)]
    hits = find_drugs([w for w, _, _ in words], is_ignore_case=True)
    for _drug, start_word, end_word in hits:
        start, end = words[start_word][1], words[end_word - 1][2]
        if unmarked(start, end):
            print(f"line {line_of(start)}: vocabulary name {text[start:end]!r} unmarked")
    for s in spans:
        if s.label == "ADE" and not s.causes:
            print(f"{s.key}: ADE {s.text!r} has no drug")


def main(argv: list[str]) -> int:
    commands = {"ann": (cmd_ann, 3), "show": (cmd_show, 2), "check": (cmd_check, 2)}
    if not argv or argv[0] not in commands or len(argv) - 1 != commands[argv[0]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    func, _ = commands[argv[0]]
    try:
        func(*(Path(a) for a in argv[1:]))  # type: ignore[operator]
    except (MarkupError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
