"""Every clinnlp error class and message, in one place.

Messages name the file, line or offset, what was expected and what was found, and never quote
document text (it may be patient text).
"""

from __future__ import annotations

from pathlib import Path


class ClinnlpError(Exception):
    """Base class of every error clinnlp raises on purpose; the CLI turns it into exit code 1."""


class InputError(ClinnlpError):
    """A file or record that cannot be read as what it claims to be.

    Args:
        path: the file at fault.
        message: what was expected and what was found (no document text).
        line: 1-based line number, where one applies.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class ModelError(ClinnlpError):
    """A model folder that is missing, incomplete or unsafe to load."""


class ConfigError(ClinnlpError):
    """An option or configuration value that cannot work."""


class TextError(ClinnlpError):
    """A text handed to the pipeline that it cannot annotate (the message names an offset,
    never the text)."""


E_TEXT_SURROGATE = (
    "text holds a lone surrogate (U+{code:04X}) at character {offset}, which is not Unicode "
    "text and no UTF-8 can hold; decode JSON escapes in pairs, or replace it"
)


E_TAGGER_NOWHERE = (
    "{name}: span_key is empty and ents is false, so its entities would go nowhere; give a "
    "span group (span_key) or set ents"
)


class CorpusError(ClinnlpError):
    """A corpus that is absent or whose files do not match their expected checksums."""


# Reusable message templates, so the same fault reads the same everywhere.
E_EMPTY = "the file is empty; expected {what}"
E_ENCODING = "not valid UTF-8 at byte {offset}; re-encode the file as UTF-8"
E_BINARY = "looks binary (NUL byte at {offset}); expected plain text"
E_UTF16 = (
    "is UTF-16 text ({variant}); expected UTF-8: re-save it as UTF-8 (in an editor's 'Save as', "
    "or `iconv -f UTF-16 -t UTF-8 FILE > NEW`)"
)
E_TOO_LARGE = "is {size} bytes, over the limit of {limit} bytes; raise the limit or split the file"
E_SPAN = "span {start}-{end} is outside the text (length {length})"
E_SPAN_TEXT = (
    "span {start}-{end} of {ident} does not match the text file "
    "(annotation and text differ there: {n_ann} vs {n_txt} characters); "
    "the .txt and .ann may be out of sync"
)

# Corpus readers and writers (clinnlp.readers). Found values are described by kind and count,
# never quoted: a malformed line may hold document text in any field.
E_NOT_FOUND = "does not exist; expected {what}"
E_FIELDS = "expected {expected}; found {found} field(s)"
E_FORMAT_UNKNOWN = (
    "the corpus format cannot be guessed from the path; expected a BRAT folder (.ann + .txt), "
    "an ADE-Corpus-V2 folder (DRUG-AE.rel), .jsonl, .conll/.bio, .PubTator.txt or .txt files; "
    "name the format ({formats})"
)
E_FORMAT_NAME = "unknown corpus format {name!r}; expected one of {formats}"
E_FORMAT_READ_ONLY = "format {name!r} can be read but not written; write one of {formats}"
E_OUTPUT_EXISTS = "{path} exists; pass --force to overwrite it, or choose another output"
E_ADE_PMID = "expected a numeric PMID in the first field"
E_ADE_OFFSETS = "expected integer begin/end offsets in fields 4, 5, 7 and 8"
E_ADE_SPAN_LENGTH = (
    "the span in field {field} is {length} characters long but its offsets {start}-{end} "
    "cover {width}; expected end - begin to equal the span length"
)
E_ADE_NO_OFFSET = (
    "no sentence offset puts both spans of this row (and those of earlier rows of the same "
    "sentence, PMID {pmid}) on their text; expected offsets into the whole PubMed abstract"
)
E_ADE_DOSE_ORPHAN = (
    "the sentence of this Dose row has no row in DRUG-AE.rel; expected every DRUG-DOSE.rel "
    "sentence to occur there"
)
E_ADE_NEG = "expected 'PMID NEG sentence' (a numeric PMID, the word NEG, a sentence)"
E_ANN_ID = (
    "the annotation id is malformed; expected T, R, E, A, M or N followed by digits, "
    "or # for a note"
)
E_ANN_OFFSETS = "expected integer 'start end' offsets (fragments separated by ';') after the label"
E_ANN_REF = "refers to {ident}, which no earlier T or R line defines"
E_ANN_DUPLICATE = "id {ident} is defined twice"
E_NO_TXT = "has no text file {txt}; expected each .ann beside a .txt of the same name"
E_JSONL_JSON = "is not valid JSON ({reason}); expected one Document.to_dict() object a line"
E_JSONL_KEY = "misses key {key!r}; expected a Document.to_dict() object (id, text, entities...)"
E_DOCUMENT = "document {doc_id} is inconsistent: {problems}"
E_CONLL_TAG = "expected a tag O, B-<label> or I-<label> in the last column"
E_PUBTATOR_HEADER = "expected '{pmid}|{kind}|...' ({what}) at this line"
E_PUBTATOR_MENTION = "{ident} span {start}-{end} does not match the title + abstract text there"
E_CORPUS_MISSING = (
    "corpus {name}: {path} is missing; expected the corpus files under {source} "
    "(run `make corpora CORPORA_SRC=/path/to/corpora` with the folder holding {name}/)"
)
E_CORPUS_CHECKSUM = (
    "corpus {name}: {path} has sha256 {found}, expected {expected}; the copy differs from the "
    "one this project was checked against (re-download it or update corpora/checksums.json)"
)
E_INT_OFFSETS = "expected integer start and end offsets in {where}"
E_PUBTATOR_PMID = "expected PMID {pmid} in the first field, as on this document's title line"
E_OUT_NOT_OURS = (
    "{path} is in the output folder but no clinnlp run recorded writing it, and clinnlp never "
    "overwrites such a file: move or rename it, or give the document another id (a run of an "
    "older clinnlp killed mid-chunk could leave one of its own: delete it if it is clinnlp's)"
)
E_NAME_CLASH = "documents {first} and {second} both map to this file name; give them distinct ids"


# --- evaluation and folds (clinnlp.training.evaluate, clinnlp.training.folds) ---


class EvaluationError(ClinnlpError):
    """Gold and predicted corpora that cannot be scored against each other."""


E_EVAL_UNKNOWN_DOC = (
    "{count} predicted document(s) are not in the gold corpus, e.g. id {doc_id}; expected "
    "predictions for the gold corpus's own documents (they are matched by id)"
)
E_EVAL_DUPLICATE_DOC = "document id {doc_id} occurs twice in the {side} corpus; expected unique ids"
E_EVAL_TEXT = (
    "document {doc_id}: the predicted text differs from the gold text ({n_pred} vs {n_gold} "
    "characters), so their offsets cannot be compared; predict on the gold texts as they are"
)
E_EVAL_RELATION_ARG = (
    "document {doc_id} ({side}): relation {rel} refers to entity {arg}, which the document "
    "does not have"
)
E_FOLDS_LENGTHS = "got {n_ids} document ids but {n_groups} groups; expected one group per document"
E_FOLDS_K = "cannot make {k} folds from {n_groups} group(s); expected 2 <= k <= number of groups"
E_FOLDS_DUPLICATE = "document id {doc_id} occurs twice; expected unique document ids"
E_FOLDS_NO_PMID = (
    "document {doc_id} has no metadata['pmid']; PMID-grouped folds need it on every document "
    "(read the corpus with clinnlp.readers.ade, or set it)"
)


# --- batch annotation (clinnlp.batch) ---
E_ANNOTATE_FORMAT = "unknown output format {name!r}; expected one of {formats}"
E_OUT_OTHER_RUN = (
    "{path} holds the output of a different command or configuration (it differs in: {keys}); "
    "pass --force to replace it (it removes only what that run recorded in its run.json), or "
    "choose another --out"
)
E_OUT_NOT_EMPTY = (
    "{path} is not empty and holds no clinnlp annotate run; pass --force to write there "
    "anyway (it deletes nothing there: --force only ever removes what an earlier clinnlp run "
    "recorded in its run.json), or choose an empty or new --out"
)
E_OUT_OVERLAP = (
    "input {input} and the output folder {out} overlap; choose an --out outside the inputs"
)
E_RECORD_ID = "record has no id in {column!r}; expected a non-empty id for every record"
E_RECORD_TEXT = "field {column!r} is {found}; expected a string"
E_RECORD_EMPTY = "field {column!r} is empty or only spaces; expected the document's text"
E_DUPLICATE_ID = "document id already used by {first}; give every document a distinct id"
E_OUT_ESCAPE = "the output file name of this id would leave the output folder {out}"
E_RECORD_JSON = "line is not a JSON object ({reason}); expected one JSON object a line"
E_OUT_DAMAGED = (
    "{path} is shorter than the run log says ({found} < {expected} bytes): the output was "
    "changed outside clinnlp; rerun with --force to start over"
)

# Cross-validation results (clinnlp cv --json).
E_CHECKPOINT_UNREADABLE = (
    "{path}: cannot be read as a clinnlp training checkpoint; move it away to train afresh"
)
E_CHECKPOINT_OTHER = (
    "{path}: a training checkpoint of another recipe or corpus; move it away to train afresh, "
    "or rerun the command that wrote it to resume"
)
E_CV_NOT_RESULT = "{path}: exists but is not a cv result; move it or pick another --json"
E_CV_FOLDS = (
    "--folds: {found!r} is not a fold; expected comma-separated integers from 0 to k-1 ({k} folds)"
)
E_CV_BENCHMARK = (
    "the first corpus of `clinnlp cv` is the ADE-Corpus-V2 folder whose folds are tested; "
    "{spec} is not one (give it plain or as ade:PATH, and other corpora after it)"
)
E_CV_MERGE_MISSING = "{path}: no such cv result to merge"
E_CV_MERGE_CONFLICT = (
    "fold {fold} has different results in {first} and {second}; merge only runs of one recipe "
    "that ran each fold once"
)
E_CV_MERGE_USAGE = "--merge writes into --json and runs no fold: give --json, and no --folds"
E_CV_OTHER_RECIPE = (
    "{path}: holds a cv run of another recipe ({option} was {stored!r} there, {given!r} now); "
    "run with the same options to add folds to it, or pick another --json to keep both"
)

E_CARD_OTHER_RECIPE = (
    "{path}: the cv run measured another recipe ({option} was {stored!r} there, {given!r} "
    "here); the model card only shows figures of the recipe it was trained with"
)

E_KB_MISSING = (
    "{path}: not a complete knowledge base (missing {missing}); build it with "
    "`clinnlp build-kb` (or `make kb`)"
)
E_LABEL_MAP = "--map {item!r}: expected FROM=TO (TO may be empty to drop the label)"
E_RULES = (
    "not a ConText rule; expected literal<TAB>category<TAB>direction<TAB>max scope, with a "
    "category among NEGATED, POSSIBLE, HYPOTHETICAL, HISTORICAL, FAMILY, PSEUDO, TERMINATE "
    "and a direction among forward, backward, both"
)
E_SAMPLE = "--sample {item!r}: expected KIND=SHARE with a share above 0 and at most 1"
E_SOURCE_SPEC = (
    "training source {spec!r}: unknown kind {kind!r}; expected KIND:PATH with KIND one of "
    "{kinds}, or a plain path"
)

# Batch annotation, continued (clinnlp.batch, clinnlp.readers.textfile).
E_UNREADABLE = "cannot be read ({reason}); check that it exists and that you may read it"
E_COLUMN_MISSING = (
    "has no column {column!r} in its first row ({count} column(s) there); expected a header "
    "row naming the columns (add one if the file starts with data), or name the right column "
    "with {option}"
)
E_CSV_INVALID = "is not valid CSV ({reason}); expected RFC 4180 rows with a header row"
E_CSV_RECORD = (
    "cannot be split into fields at {lines} ({reason}); quote every field that holds a "
    "comma, a quote or a line break (RFC 4180), doubling quotes inside it"
)
E_CSV_CR = (
    "record at {lines} ends at a bare carriage return (CR) where the file's lines "
    "end in LF; a CR inside a note must be inside a quoted field (or remove it)"
)
E_CSV_FIELDS = (
    "record at {lines} has {found} field(s), the header {expected}; quote every "
    "field that holds a comma, a quote or a line break (RFC 4180)"
)
E_RECORD_ID_ENCODING = "the id in {column!r} is not valid UTF-8; re-encode the file as UTF-8"
E_OUT_NAME_LONG = (
    "the output file name of this id is too long ({length} bytes, {longest} in its longest "
    "folder or file name; expected at most {total} and {part}); give the document a shorter id"
)
E_OUT_FOLDER_CLASH = (
    "the output files of documents {first} and {second} clash: one's file name is the other's "
    "folder name; give them distinct ids"
)
E_OUT_FILE = "{path} is a file; expected a folder for --out (the run writes several files)"
E_ENGINE = "unknown engine {name!r}; expected local or spark"
E_NO_DOCUMENTS = (
    "no document found in the inputs: folders are read for .txt files (in sub-folders too); "
    "give .csv and .jsonl files by name"
)
E_DEVICE = "unknown device {device!r}; expected auto, cpu, cuda or cuda:N"
E_SPARK_MISSING = (
    "the Spark engine needs PySpark (pip install 'clinnlp[spark]') and Java 17 (java on PATH "
    "or JAVA_HOME)"
)
E_SPARK_JAVA = (
    "Spark could not start Java (JAVA_HOME is {java_home}); install Java 17 and point JAVA_HOME "
    "at it, or leave JAVA_HOME unset to use the java on PATH"
)
E_SPARK_START = (
    "Spark could not start ({kind}: {first}); on a local master it needs the loopback "
    "interface (127.0.0.1) and Java 17"
)
E_SPARK_FORMAT = (
    "--format spacy needs the spaCy Docs, which the Spark engine leaves on its executors; "
    "use --format jsonl, brat or html with --engine spark"
)
E_SPARK_PROCESSES = "--n-process is the local engine's; Spark runs one task per executor core"
E_BATCH_COUNTS = "batch size and process count must be at least 1, not {batch_size} and {n_process}"
E_PIPELINE = (
    "the pipeline raised {error} on this document (in {where}); the run went on without it; "
    "report the error with the id (never the text)"
)
E_PATH_ENCODING = (
    "the file name or document id is not valid UTF-8; rename the file (names and ids are "
    "written to UTF-8 output)"
)
E_OUT_UNCLAIMED = (
    "{path} exists but no clinnlp run recorded it in {run_file}: it is not clinnlp's output, "
    "and clinnlp never deletes or overwrites it; move or rename it, or choose another --out"
)
E_OUT_LINK = (
    "{path} is a symbolic link; clinnlp neither writes through nor deletes links in the output "
    "folder; replace the link by a real folder or file, or choose another --out"
)

# The folder walk (clinnlp._files.walk_files): paths met that cannot be read.
E_WALK_LINK_DANGLING = "is a symbolic link whose target does not exist; fix or remove the link"
E_WALK_LINK_LOOP = (
    "is a symbolic link that loops (too many levels of links); fix or remove the link"
)
E_WALK_FOLDER_LOOP = (
    "leads back to a folder above it (a link loop), so the walk does not enter it again; "
    "remove the link, or give the folder it points to as an input of its own"
)
E_WALK_NOT_FILE = (
    "is a {kind}, not a regular file, and is not read (a named pipe could block the run "
    "forever); expected a text file"
)

#: Said once a process (a warning, not an error) when the linker's knowledge bases are absent.
W_NO_KB = (
    "no knowledge bases in {path}: drugs and events get no concepts (DrugBank, HPO); build "
    "them once with `clinnlp build-kb` (`make kb` in a checkout)"
)
#: What ``run.json`` and the report say when a run links no concepts.
NO_KB = "none: entities got no concepts (build the knowledge bases with `clinnlp build-kb`)"
