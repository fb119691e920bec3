"""Copy the EU vocabulary terms the catalogue can use into a small eu-vocabularies.ttl.

Run once, by hand, when catalog.yaml gains a code (the release never reads the dumps):

    /work/venv/bin/python publishing/shapes/extract_vocabularies.py /path/to/eu-vocabularies

The DCAT-AP shapes check that a theme, frequency or file type is a skos:Concept of the right
concept scheme, with a label, so the validator needs those few triples next to the catalogue.
The dumps hold every label in 24 languages (about 2 MB); this keeps type, scheme and the
Swedish and English labels of the codes catalog.yaml names, nothing else.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from rdflib import DCTERMS, RDF, SKOS, Graph, Literal, URIRef

HERE = Path(__file__).parent
CATALOG_SETTINGS = HERE.parent / "catalog.yaml"
OUTPUT = HERE / "eu-vocabularies.ttl"
AUTHORITY = "http://publications.europa.eu/resource/authority/"
LANGUAGES = ("en", "sv")
HEADER = """\
# Extracted by extract_vocabularies.py from the EU Publications Office's SKOS dumps (2021) as
# vendored in SEMICeu/dcat-ap_shacl resources/, commit 07a19dde14ca162a8396172538dc7dbc00aab07e.
# Licence: CC BY 4.0. Only the codes catalog.yaml names: type, scheme, Swedish and English labels.
# Each scheme's dct:title is its English label (DCAT-AP's Category Scheme shape asks for a title).

"""


def wanted_codes() -> dict[str, list[str]]:
    """Vocabulary (dump file) -> codes the catalogue may use, from catalog.yaml."""
    settings = yaml.safe_load(CATALOG_SETTINGS.read_text(encoding="utf-8"))
    return {
        "data-theme-skos-ap-act.rdf": sorted(settings["themes"]),
        "frequencies-skos-ap-act.rdf": sorted(set(settings["frequencies"].values())),
        "filetypes-skos-ap-act.rdf": sorted({f["file_type"] for f in settings["formats"].values()}),
    }


def extract(dump: Path, codes: list[str]) -> tuple[Graph, list[str]]:
    """The needed concepts and their scheme from one dump; also the codes it does not hold."""
    source = Graph().parse(dump)
    out = Graph()
    scheme = next(source.subjects(RDF.type, SKOS.ConceptScheme))
    out.add((scheme, RDF.type, SKOS.ConceptScheme))
    label = _label(source, scheme, "en")
    out.add((scheme, SKOS.prefLabel, label))
    out.add((scheme, DCTERMS.title, label))
    missing = []
    for code in codes:
        concept = URIRef(f"{str(scheme).rstrip('/')}/{code}")
        if (concept, RDF.type, SKOS.Concept) not in source:
            missing.append(code)
            continue
        for kind in source.objects(concept, RDF.type):
            out.add((concept, RDF.type, kind))
        out.add((concept, SKOS.inScheme, scheme))
        for language in LANGUAGES:
            for text in source.objects(concept, SKOS.prefLabel):
                if isinstance(text, Literal) and text.language == language:
                    out.add((concept, SKOS.prefLabel, text))
    return out, missing


def _label(graph: Graph, node: URIRef, language: str) -> Literal:
    for text in graph.objects(node, SKOS.prefLabel):
        if isinstance(text, Literal) and text.language == language:
            return text
    raise ValueError(f"{node} has no {language} label")


def main(dumps: Path) -> int:
    graph = Graph()
    graph.bind("skos", SKOS)
    graph.bind("dct", DCTERMS)
    for file_name, codes in wanted_codes().items():
        part, missing = extract(dumps / file_name, codes)
        graph += part
        if missing:
            # Codes newer than the dumps (e.g. PARQUET) live in terms-not-in-dumps.ttl.
            print(f"{file_name}: not in the dump, expected in terms-not-in-dumps.ttl: {missing}")
    OUTPUT.write_text(HEADER + graph.serialize(format="turtle"), encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(graph)} triples)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} DIR_WITH_EU_VOCABULARY_DUMPS")
    sys.exit(main(Path(sys.argv[1])))
