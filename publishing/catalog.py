"""The release's DCAT-AP-SE catalogue (`catalog.ttl`, `catalog.jsonld`) and its validation.

Portals such as dataportal.se and data.europa.eu find open data by harvesting catalogues in
DCAT-AP, the EU profile of W3C DCAT, here in Sweden's profile DCAT-AP-SE. The catalogue is
built from the files actually in the release folder, so every distribution it lists exists,
with its real size and SHA-256, and from the governance metadata of the dbt models
(`OpenDataset`), so owner, licence, themes and frequency never drift from the project.

Before `latest` may move, the catalogue is checked offline against the official DCAT-AP 3.0.1
SHACL shapes, the high-value-dataset (HVD) shapes for the datasets that are high-value,
DCAT-AP-SE's extra rules, and the files on disk (see `validate_catalog`). The shapes and the
few EU vocabulary terms they need are vendored in `publishing/shapes/` (README there).

Every entity has an absolute IRI (dataportal.se harvests nothing else): the catalogue,
datasets and owners get stable IRIs under the public base URL, so a harvester sees the same
dataset in every release; per-release entities (distributions, checksums, periods) are
fragments of the release's `catalog.ttl`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import duckdb
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SH, SKOS, XSD

from publishing.checksums import sha256_of
from publishing.datasets import (
    OpenDataset,
    catalog_settings,
    frictionless_type,
    open_data_settings,
    quote_identifier,
)
from publishing.export import sql_string, time_column_of

CATALOG_TTL = "catalog.ttl"
CATALOG_JSONLD = "catalog.jsonld"
BASE_URL_ENV = "STADSDATA_PUBLIC_BASE_URL"
SHAPES = Path(__file__).parent / "shapes"
# Violations of these stop a release. The recommended shapes only warn, so a release does not
# spend time on them; the tests show which warnings remain.
DCAT_AP_SHAPES = ("shapes.ttl", "range.ttl", "mdr-vocabularies.shape.ttl")
RECOMMENDED_SHAPES = ("shapes_recommended.ttl",)
HVD_SHAPES = ("hvd-SHACL.ttl",)
VOCABULARIES = ("eu-vocabularies.ttl", "terms-not-in-dumps.ttl")

DCATAP = Namespace("http://data.europa.eu/r5r/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
GEOSPARQL = Namespace("http://www.opengis.net/ont/geosparql#")
AUTHORITY = "http://publications.europa.eu/resource/authority/"
ADMS_PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
ADMS_LICENCE_TYPE = "http://purl.org/adms/licencetype/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "dcatap": DCATAP,
    "foaf": FOAF,
    "vcard": VCARD,
    "spdx": SPDX,
    "skos": SKOS,
    "eli": ELI,
    "geo": GEOSPARQL,
    "xsd": XSD,
}
# Catalogue-level words in Sweden's two catalogue languages.
LANGUAGES = ("sv", "en")


class CatalogError(ValueError):
    """The catalogue cannot be written from these datasets and files; the message says why."""


@dataclass(frozen=True)
class Coverage:
    """What the published data itself says about when and where it is."""

    start: Literal | None = None
    end: Literal | None = None
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north (WGS 84)


# --- writing ---------------------------------------------------------------------------------


def public_base_url(base_url: str | None = None) -> str:
    """The public URL of the releases folder (or bucket prefix), ending in `/`.

    The argument wins, then STADSDATA_PUBLIC_BASE_URL, then catalog.yaml's default.
    """
    url = base_url or os.environ.get(BASE_URL_ENV) or catalog_settings()["base_url"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise CatalogError(f"public base URL {url!r} is not an absolute http(s) URL without query")
    return url if url.endswith("/") else url + "/"


def write_catalog(
    folder: Path,
    datasets: list[OpenDataset],
    release_id: str,
    created: str,
    base_url: str | None = None,
) -> dict[str, str]:
    """Write catalog.ttl and catalog.jsonld (one graph, two forms) into the release `folder`.

    Every data file already in `folder` becomes a distribution of the dataset whose name it
    starts with; a dataset without files (held back, nothing earlier) is left out. `created`
    is the release time (ISO 8601 UTC). Returns {file name: sha256} for SHA256SUMS. Raises
    CatalogError when a dataset names a licence, frequency, theme or category the catalogue
    cannot state.
    """
    graph = catalog_graph(folder, datasets, release_id, created, public_base_url(base_url))
    (folder / CATALOG_TTL).write_text(graph.serialize(format="turtle"), encoding="utf-8", newline="\n")
    (folder / CATALOG_JSONLD).write_text(_json_ld(graph), encoding="utf-8", newline="\n")
    return {name: sha256_of(folder / name) for name in (CATALOG_TTL, CATALOG_JSONLD)}


def _json_ld(graph: Graph) -> str:
    """JSON-LD with prefixes as context, nodes sorted by IRI so the same graph reads the same.

    Not DCAT-AP's own JSON-LD context: it is type-scoped (JSON-LD 1.1), which rdflib does not
    compact with, and a document that embeds a 20 kB context it does not use helps nobody.
    """
    context = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
    document = json.loads(graph.serialize(format="json-ld", context=context, auto_compact=True))
    document.get("@graph", []).sort(key=lambda node: node["@id"])
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def catalog_graph(
    folder: Path, datasets: list[OpenDataset], release_id: str, created: str, base_url: str
) -> Graph:
    """The catalogue as an RDF graph (see the module docstring for its IRIs)."""
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    release_url = f"{base_url}{quote(release_id)}/"
    files = data_files(folder, [d.name for d in datasets])
    listed = [d for d in datasets if files.get(d.name)]
    catalogue = _add_catalogue(graph, base_url, created)
    with duckdb.connect() as con:  # one in-memory DuckDB measures every dataset's coverage
        con.execute("SET TimeZone = 'UTC'")
        for dataset in listed:
            coverage = measure_coverage(con, dataset, files[dataset.name])
            node = _add_dataset(graph, dataset, base_url, release_url, files[dataset.name], coverage)
            graph.add((catalogue, DCAT.dataset, node))
    return graph


def data_files(folder: Path, names: Iterable[str]) -> dict[str, list[Path]]:
    """Dataset name -> its data files in `folder`, sorted by name.

    A data file ends with a suffix from catalog.yaml `formats` and starts with the dataset's
    name followed by that suffix or by `-`, `_` or `.` (per-year parts: `open_x-2026.csv`);
    the longest matching name wins, so `open_traffic` never takes `open_traffic_hourly.csv`.
    Data files that match no name are under the key "".
    """
    by_length = sorted(set(names), key=len, reverse=True)
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and file_format(path.name):
            owner = next((n for n in by_length if _belongs_to(path.name, n)), "")
            found.setdefault(owner, []).append(path)
    return found


def file_format(file_name: str) -> dict | None:
    """catalog.yaml's format entry for a data file name, or None when it is not data."""
    formats = catalog_settings()["formats"]
    suffix = next((s for s in sorted(formats, key=len, reverse=True) if file_name.endswith(s)), None)
    return formats[suffix] if suffix else None


def _belongs_to(file_name: str, dataset: str) -> bool:
    return file_name.startswith(dataset) and file_name[len(dataset) : len(dataset) + 1] in "-_."


def _literal_in(languages: dict[str, str]) -> list[Literal]:
    return [Literal(" ".join(languages[lang].split()), lang=lang) for lang in LANGUAGES]


def _add_catalogue(graph: Graph, base_url: str, created: str) -> URIRef:
    settings = catalog_settings()["catalogue"]
    catalogue = URIRef(f"{base_url}catalog")
    graph.add((catalogue, RDF.type, DCAT.Catalog))
    for title in _literal_in(settings["title"]):
        graph.add((catalogue, DCTERMS.title, title))
    for description in _literal_in(settings["description"]):
        graph.add((catalogue, DCTERMS.description, description))
    graph.add((catalogue, DCTERMS.publisher, _add_agent(graph, base_url, settings["publisher"])))
    graph.add((catalogue, DCTERMS.license, _add_licence(graph, settings["license"])))
    homepage = URIRef(base_url)
    graph.add((catalogue, FOAF.homepage, homepage))
    graph.add((homepage, RDF.type, FOAF.Document))
    stamp = _date_time(created)
    graph.add((catalogue, DCTERMS.issued, stamp))
    graph.add((catalogue, DCTERMS.modified, stamp))
    for code in settings["languages"]:
        language = URIRef(f"{AUTHORITY}language/{code}")
        graph.add((catalogue, DCTERMS.language, language))
        graph.add((language, RDF.type, DCTERMS.LinguisticSystem))
    graph.add((catalogue, DCAT.themeTaxonomy, URIRef(f"{AUTHORITY}data-theme")))
    graph.add((catalogue, DCTERMS.spatial, _add_city(graph)))
    return catalogue


def _add_agent(graph: Graph, base_url: str, owner: str) -> URIRef:
    """The owner as publisher: a foaf:Agent named as in open_data.yaml, typed by ADMS."""
    name = open_data_settings()["owners"].get(owner)
    kind = catalog_settings()["publisher_types"].get(owner)
    if not name or not kind:
        raise CatalogError(f"owner {owner!r} has no name (open_data.yaml) or publisher type (catalog.yaml)")
    agent = URIRef(f"{base_url}organisation/{quote(owner)}")
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, FOAF.name, Literal(name, lang="sv")))
    graph.add((agent, DCTERMS.type, URIRef(f"{ADMS_PUBLISHER_TYPE}{kind}")))
    return agent


def _add_contact(graph: Graph, base_url: str, owner: str) -> URIRef:
    """The owner's functional mailbox, the only contact pattern the city has given us."""
    contact = URIRef(f"{base_url}organisation/{quote(owner)}#contact")
    email = catalog_settings()["contact_email"].format(owner=owner)
    graph.add((contact, RDF.type, VCARD.Organization))
    graph.add((contact, VCARD.fn, Literal(open_data_settings()["owners"][owner], lang="sv")))
    graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{email}")))
    return contact


def _add_licence(graph: Graph, spdx_id: str) -> URIRef:
    known = catalog_settings()["licenses"].get(spdx_id)
    if not known:
        raise CatalogError(f"licence {spdx_id!r} has no IRI in catalog.yaml licenses")
    licence = URIRef(known["iri"])
    graph.add((licence, RDF.type, DCTERMS.LicenseDocument))
    for kind in known["types"]:
        graph.add((licence, DCTERMS.type, URIRef(f"{ADMS_LICENCE_TYPE}{kind}")))
    return licence


def _add_city(graph: Graph) -> URIRef:
    city = URIRef(catalog_settings()["spatial"]["iri"])
    graph.add((city, RDF.type, DCTERMS.Location))
    return city


def _add_dataset(
    graph: Graph,
    dataset: OpenDataset,
    base_url: str,
    release_url: str,
    files: list[Path],
    coverage: Coverage,
) -> URIRef:
    node = URIRef(f"{base_url}datasets/{quote(dataset.name)}")
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(dataset.name)))
    _add_words(graph, node, dataset)
    graph.add((node, DCTERMS.publisher, _add_agent(graph, base_url, dataset.owner)))
    graph.add((node, DCAT.contactPoint, _add_contact(graph, base_url, dataset.owner)))
    graph.add((node, DCTERMS.accrualPeriodicity, _add_frequency(graph, dataset)))
    for code in dataset.themes:
        if code not in catalog_settings()["themes"]:
            raise CatalogError(f"{dataset.name}: theme {code!r} is not an EU data-theme code")
        graph.add((node, DCAT.theme, URIRef(f"{AUTHORITY}data-theme/{code}")))
    if dataset.temporal_resolution:
        resolution = Literal(dataset.temporal_resolution, datatype=XSD.duration)
        graph.add((node, DCAT.temporalResolution, resolution))
    graph.add((node, DCTERMS.spatial, _add_city(graph)))
    _add_coverage(graph, node, dataset, release_url, coverage)
    legislation = _add_high_value(graph, node, dataset)
    licence = _add_licence(graph, dataset.license)
    for path in files:
        distribution = _add_distribution(graph, path, release_url, licence, legislation)
        graph.add((node, DCAT.distribution, distribution))
    return node


def _add_words(graph: Graph, node: URIRef, dataset: OpenDataset) -> None:
    """Title and description in Swedish and English; datasets built in code without the
    bilingual fields reuse `title` and `description` (the manifest guard demands them)."""
    title_en = dataset.title_en or dataset.title
    description_en = dataset.description or title_en
    words = {
        DCTERMS.title: {"sv": dataset.title_sv or dataset.title, "en": title_en},
        DCTERMS.description: {"sv": dataset.description_sv or description_en, "en": description_en},
    }
    for predicate, languages in words.items():
        for text in _literal_in(languages):
            graph.add((node, predicate, text))


def _add_frequency(graph: Graph, dataset: OpenDataset) -> URIRef:
    code = catalog_settings()["frequencies"].get(dataset.update_frequency)
    if not code:
        raise CatalogError(
            f"{dataset.name}: update_frequency {dataset.update_frequency!r} has no EU frequency "
            "in catalog.yaml frequencies"
        )
    frequency = URIRef(f"{AUTHORITY}frequency/{code}")
    graph.add((frequency, RDF.type, DCTERMS.Frequency))
    return frequency


def _add_high_value(graph: Graph, node: URIRef, dataset: OpenDataset) -> URIRef | None:
    """The HVD category and Regulation (EU) 2023/138, as the HVD profile requires."""
    if not dataset.hvd_category:
        return None
    hvd = catalog_settings()["hvd"]
    category = hvd["categories"].get(dataset.hvd_category)
    if not category:
        raise CatalogError(f"{dataset.name}: hvd_category {dataset.hvd_category!r} is not in catalog.yaml")
    legislation = URIRef(hvd["legislation"])
    graph.add((legislation, RDF.type, ELI.LegalResource))
    graph.add((node, DCATAP.applicableLegislation, legislation))
    graph.add((node, DCATAP.hvdCategory, URIRef(category)))
    return legislation


def _add_coverage(
    graph: Graph, node: URIRef, dataset: OpenDataset, release_url: str, coverage: Coverage
) -> None:
    document = f"{release_url}{CATALOG_TTL}#"
    if coverage.start is not None:
        period = URIRef(f"{document}{quote(dataset.name)}-temporal")
        graph.add((node, DCTERMS.temporal, period))
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        graph.add((period, DCAT.startDate, coverage.start))
        graph.add((period, DCAT.endDate, coverage.end))
    if coverage.bbox is not None:
        place = URIRef(f"{document}{quote(dataset.name)}-bbox")
        graph.add((node, DCTERMS.spatial, place))
        graph.add((place, RDF.type, DCTERMS.Location))
        graph.add((place, DCAT.bbox, Literal(_wkt_polygon(coverage.bbox), datatype=GEOSPARQL.wktLiteral)))


def _wkt_polygon(bbox: tuple[float, float, float, float]) -> str:
    west, south, east, north = bbox
    corners = [(west, south), (east, south), (east, north), (west, north), (west, south)]
    return "POLYGON((" + ", ".join(f"{x:.6f} {y:.6f}" for x, y in corners) + "))"


def _add_distribution(
    graph: Graph, path: Path, release_url: str, licence: URIRef, legislation: URIRef | None
) -> URIRef:
    """One distribution per file: where to get it, what it is, how big, and its SHA-256."""
    kind = file_format(path.name)
    file_url = URIRef(f"{release_url}{quote(path.name)}")
    distribution = URIRef(f"{release_url}{CATALOG_TTL}#{quote(path.name)}")
    checksum = URIRef(f"{release_url}{CATALOG_TTL}#{quote(path.name)}-sha256")
    file_type = URIRef(f"{AUTHORITY}file-type/{kind['file_type']}")
    media_type = URIRef(f"{IANA_MEDIA_TYPES}{kind['media_type']}")
    triples = [
        (distribution, RDF.type, DCAT.Distribution),
        (distribution, DCTERMS.title, Literal(path.name)),
        *((distribution, DCTERMS.description, text) for text in _literal_in(kind["description"])),
        (distribution, DCAT.accessURL, file_url),
        (distribution, DCAT.downloadURL, file_url),
        (distribution, DCTERMS.format, file_type),
        (file_type, RDF.type, DCTERMS.MediaTypeOrExtent),
        (distribution, DCAT.mediaType, media_type),
        (media_type, RDF.type, DCTERMS.MediaType),
        (distribution, DCAT.byteSize, Literal(path.stat().st_size, datatype=XSD.nonNegativeInteger)),
        (distribution, DCTERMS.license, licence),
        (distribution, SPDX.checksum, checksum),
        (checksum, RDF.type, SPDX.Checksum),
        (checksum, SPDX.algorithm, URIRef(catalog_settings()["checksum_algorithm"])),
        (checksum, SPDX.checksumValue, Literal(sha256_of(path), datatype=XSD.hexBinary, normalize=False)),
    ]
    if legislation is not None:
        triples.append((distribution, DCATAP.applicableLegislation, legislation))
    for triple in triples:
        graph.add(triple)
    return distribution


def _date_time(text: str) -> Literal:
    return Literal(text, datatype=XSD.dateTime, normalize=False)


# --- what the data covers --------------------------------------------------------------------


def measure_coverage(con: duckdb.DuckDBPyConnection, dataset: OpenDataset, files: list[Path]) -> Coverage:
    """Temporal and spatial extent of the dataset's published Parquet files, read by DuckDB.

    `con` is an in-memory DuckDB with TimeZone UTC. Time: the dataset's time column (the
    declared `time_column`, else its first timestamp or date column, as the per-year split
    uses); a timestamp range is given in UTC, a date range as dates, a declared integer
    (year) column as years. Space: a GeoJSON `geometry` text column, or `lat`/`lon`
    (`latitude`/`longitude`) columns. What cannot be measured is left out, never guessed.
    """
    parquet = [p for p in files if p.name.endswith(".parquet")]
    if not parquet:
        return Coverage()
    listing = ", ".join(sql_string(str(p)) for p in parquet)
    source = f"read_parquet([{listing}], union_by_name = true)"  # per-year parts, old and new
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    column = time_column_of(dataset) or ""
    start, end = _time_range(con, source, types, column, years=column == dataset.time_column)
    return Coverage(start=start, end=end, bbox=_bbox(con, source, types))


def _time_range(
    con: duckdb.DuckDBPyConnection, source: str, types: dict[str, str], column: str, years: bool
) -> tuple[Literal | None, Literal | None]:
    if column not in types:
        return None, None
    kind = frictionless_type(types[column])
    name = quote_identifier(column)
    if kind == "datetime":
        form = "strftime(CAST({} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ')"
        datatype = XSD.dateTime
    elif kind == "date":
        form, datatype = "strftime({}, '%Y-%m-%d')", XSD.date
    elif kind == "integer" and years:
        form, datatype = "lpad(CAST({} AS VARCHAR), 4, '0')", XSD.gYear
    else:
        return None, None
    low, high = con.execute(
        f"SELECT {form.format(f'min({name})')}, {form.format(f'max({name})')} FROM {source}"
    ).fetchone()
    if low is None:
        return None, None
    return Literal(low, datatype=datatype, normalize=False), Literal(high, datatype=datatype, normalize=False)


def _bbox(
    con: duckdb.DuckDBPyConnection, source: str, types: dict[str, str]
) -> tuple[float, float, float, float] | None:
    lower = {name.lower(): name for name in types}
    if "geometry" in lower and frictionless_type(types[lower["geometry"]]) == "string":
        # Every [x, y…] pair in the GeoJSON text: no spatial extension is needed for a box.
        number = r"(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"
        pair = sql_string(rf"\[\s*{number}\s*,\s*{number}")
        geometry = quote_identifier(lower["geometry"])
        points = (
            f"SELECT unnest(regexp_extract_all({geometry}, {pair}, 1))::DOUBLE AS x, "
            f"unnest(regexp_extract_all({geometry}, {pair}, 2))::DOUBLE AS y FROM {source}"
        )
    else:
        lon = next((lower[n] for n in ("lon", "longitude", "lng") if n in lower), None)
        lat = next((lower[n] for n in ("lat", "latitude") if n in lower), None)
        if not lon or not lat:
            return None
        points = f"SELECT {quote_identifier(lon)} AS x, {quote_identifier(lat)} AS y FROM {source}"
    box = con.execute(f"SELECT min(x), min(y), max(x), max(y) FROM ({points})").fetchone()
    if None in box or not (-180 <= box[0] <= box[2] <= 180 and -90 <= box[1] <= box[3] <= 90):
        return None
    return tuple(float(v) for v in box)


# --- validation ------------------------------------------------------------------------------


def validate_catalog(path: Path) -> list[str]:
    """Every problem found in a release's catalogue; empty when it is valid. Offline.

    Checks, in order: it parses, and its twin (ttl/jsonld) holds the same graph; the official
    DCAT-AP 3.0.1 shapes (violations; warnings of the recommended shapes are not problems);
    the HVD shapes, with RDFS inference, on the high-value datasets only (they target every
    dataset); DCAT-AP-SE's extra rules; and that each data file in the folder has exactly one
    distribution whose size and checksum match the file.
    """
    try:
        graph = _parse(path)
    except Exception as exc:  # any parser error is a finding, not a crash
        return [f"{path.name} does not parse: {exc}"]
    problems = _twin_problems(path, graph)
    problems += [f"DCAT-AP: {p}" for p in shacl_results(graph, DCAT_AP_SHAPES, severity=SH.Violation)]
    high_value = high_value_subset(graph)
    if high_value is not None:
        found = shacl_results(high_value, HVD_SHAPES, severity=SH.Violation, inference="rdfs")
        problems += [f"DCAT-AP HVD: {p}" for p in found]
    problems += [f"DCAT-AP-SE: {p}" for p in swedish_profile_problems(graph)]
    problems += file_problems(graph, path.parent)
    return problems


def _parse(path: Path) -> Graph:
    form = "json-ld" if path.suffix == ".jsonld" else "turtle"
    return Graph().parse(path, format=form)


def _twin_problems(path: Path, graph: Graph) -> list[str]:
    twin = path.with_name(CATALOG_JSONLD if path.name == CATALOG_TTL else CATALOG_TTL)
    if path.name not in (CATALOG_TTL, CATALOG_JSONLD) or not twin.is_file():
        return []
    try:
        same = isomorphic(graph, _parse(twin))
    except Exception as exc:  # any parser error is a finding, not a crash
        return [f"{twin.name} does not parse: {exc}"]
    return [] if same else [f"{path.name} and {twin.name} do not hold the same graph"]


@cache
def _load(names: tuple[str, ...]) -> Graph:
    """Shapes or vocabulary files, parsed once per process (they never change at run time)."""
    graph = Graph()
    for name in names:
        graph.parse(SHAPES / name, format="turtle")
    return graph


def shacl_results(
    graph: Graph, shapes: tuple[str, ...], *, severity: URIRef | None = None, inference: str = "none"
) -> list[str]:
    """pySHACL's findings for `graph` against vendored `shapes` files, one readable line each.

    The vocabulary terms are added to the data graph, as the DCAT-AP range and vocabulary
    shapes expect (pySHACL's ont_graph would copy only class and property axioms); nothing is
    fetched. `severity` keeps only that level.
    """
    import pyshacl  # imported here: loading it takes a moment and only validation needs it

    _, results, _ = pyshacl.validate(
        with_vocabulary(graph),
        shacl_graph=_load(shapes),
        inference=inference,
        inplace=True,  # on the copy with_vocabulary made
        allow_warnings=True,
        allow_infos=True,
    )
    lines = []
    # Only the report's own results: nested sh:detail results belong to (and take the
    # severity of) the property shape that reported them.
    for result in results.objects(None, SH.result):
        level = results.value(result, SH.resultSeverity)
        if severity is None or level == severity:
            lines.append(_describe_result(graph, results, result))
    return sorted(set(lines))


def with_vocabulary(graph: Graph) -> Graph:
    """A copy of `graph` with the vocabulary terms it uses (and their schemes) and the class
    axioms: all the shapes need, and small, which keeps RDFS inference quick."""
    vocabulary = _load(VOCABULARIES)
    used = {node for node in graph.objects() if (node, None, None) in vocabulary}
    used |= {scheme for node in used for scheme in vocabulary.objects(node, SKOS.inScheme)}
    data = Graph(namespace_manager=graph.namespace_manager)
    data += graph
    for node in used:
        for predicate, value in vocabulary.predicate_objects(node):
            data.add((node, predicate, value))
    data += vocabulary.triples((None, RDFS.subClassOf, None))
    return data


def _describe_result(graph: Graph, results: Graph, result) -> str:
    """`<focus node> <path>: <message>` with prefixed names, e.g. `…/catalog dct:license: …`."""
    focus = results.value(result, SH.focusNode)
    path = results.value(result, SH.resultPath)
    message = results.value(result, SH.resultMessage) or "does not conform"
    level = results.value(result, SH.resultSeverity)
    where = _short(graph, path) if isinstance(path, URIRef) else "(node)"
    prefix = "" if level == SH.Violation else f"[{_short(graph, level)}] "
    return f"{prefix}{focus} {where}: {message}"


def _short(graph: Graph, node) -> str:
    try:
        return graph.namespace_manager.normalizeUri(node)
    except Exception:  # a term no prefix fits is shown whole
        return str(node)


def high_value_subset(graph: Graph) -> Graph | None:
    """The catalogue without its non-high-value datasets, or None when none is high-value.

    The HVD shapes target every dcat:Dataset and dcat:Distribution, so they may only see the
    part the regulation covers: everything reachable from the catalogue except through a
    dataset without an HVD category.
    """
    high_value = set(graph.subjects(DCATAP.hvdCategory, None))
    if not high_value:
        return None
    others = set(graph.subjects(RDF.type, DCAT.Dataset)) - high_value
    subset = Graph(namespace_manager=graph.namespace_manager)
    seen: set = set()
    frontier = list(graph.subjects(RDF.type, DCAT.Catalog)) + list(high_value)
    while frontier:
        node = frontier.pop()
        if node in seen or node in others:
            continue
        seen.add(node)
        for predicate, value in graph.predicate_objects(node):
            if value not in others:
                subset.add((node, predicate, value))
                frontier.append(value)
    return subset


# --- DCAT-AP-SE and the files ----------------------------------------------------------------


def swedish_profile_problems(graph: Graph) -> list[str]:
    """DCAT-AP-SE's rules beyond DCAT-AP 3 (no official SHACL exists), plus this platform's:
    titles and descriptions in Swedish and English, and the HVD regulation on HVD datasets."""
    problems = _identity_problems(graph)
    catalogues = list(graph.subjects(RDF.type, DCAT.Catalog))
    if len(catalogues) != 1:
        problems.append(f"there must be exactly one dcat:Catalog, found {len(catalogues)}")
    for catalogue in catalogues:
        problems += _exactly_one(graph, catalogue, DCTERMS.license, "catalogue licence")
        if graph.value(catalogue, DCAT.dataset) is None:
            problems.append(f"{catalogue} lists no dataset (dcat:dataset)")
        problems += _bilingual(graph, catalogue)
    for dataset in graph.subjects(RDF.type, DCAT.Dataset):
        problems += _dataset_problems(graph, dataset)
    for distribution in graph.subjects(RDF.type, DCAT.Distribution):
        problems += _distribution_problems(graph, distribution)
    return problems


def _identity_problems(graph: Graph) -> list[str]:
    """dataportal.se needs an absolute IRI for every entity and exact licence IRIs."""
    problems = []
    nodes = {n for triple in graph for n in (triple[0], triple[2]) if not isinstance(n, Literal)}
    for node in sorted(nodes, key=str):
        if isinstance(node, BNode):
            subject = next(graph.subjects(None, node), None)
            problems.append(f"a blank node (no IRI) is used, e.g. by {subject}")
        elif urlsplit(str(node)).scheme not in ("http", "https", "mailto") or not str(node).strip():
            problems.append(f"{node} is not an absolute http(s) or mailto IRI")
    known = {entry["iri"] for entry in catalog_settings()["licenses"].values()}
    for licence in set(graph.objects(None, DCTERMS.license)):
        if str(licence) not in known:
            problems.append(f"licence {licence} is not one of the exact IRIs {sorted(known)}")
    return problems


def _exactly_one(graph: Graph, node, predicate: URIRef, what: str) -> list[str]:
    count = len(list(graph.objects(node, predicate)))
    if count == 1:
        return []
    return [f"{node} must have exactly one {what} ({_short(graph, predicate)}), has {count}"]


def _bilingual(graph: Graph, node) -> list[str]:
    problems = []
    for predicate in (DCTERMS.title, DCTERMS.description):
        languages = {
            v.language for v in graph.objects(node, predicate) if isinstance(v, Literal) and str(v).strip()
        }
        missing = [lang for lang in LANGUAGES if lang not in languages]
        if missing:
            problems.append(f"{node} has no {_short(graph, predicate)} in {', '.join(missing)}")
    return problems


def _dataset_problems(graph: Graph, dataset) -> list[str]:
    problems = _bilingual(graph, dataset)
    problems += _exactly_one(graph, dataset, DCTERMS.publisher, "publisher")
    for publisher in graph.objects(dataset, DCTERMS.publisher):
        if graph.value(publisher, DCTERMS.type) is None or graph.value(publisher, FOAF.name) is None:
            problems.append(f"publisher {publisher} of {dataset} needs foaf:name and dct:type")
    contacts = list(graph.objects(dataset, DCAT.contactPoint))
    if not contacts:
        problems.append(f"{dataset} has no contact point (dcat:contactPoint)")
    for contact in contacts:
        email = graph.value(contact, VCARD.hasEmail)
        if graph.value(contact, VCARD.fn) is None or not str(email or "").startswith("mailto:"):
            problems.append(f"contact point {contact} needs vcard:fn and a mailto: vcard:hasEmail")
    if graph.value(dataset, DCATAP.hvdCategory) is not None:
        regulation = URIRef(catalog_settings()["hvd"]["legislation"])
        if (dataset, DCATAP.applicableLegislation, regulation) not in graph:
            problems.append(f"high-value dataset {dataset} does not cite {regulation}")
    return problems


def _distribution_problems(graph: Graph, distribution) -> list[str]:
    problems = []
    for predicate, what in (
        (DCTERMS.format, "format"),
        (DCAT.mediaType, "media type"),
        (DCTERMS.license, "licence"),
        (DCAT.downloadURL, "download URL"),
    ):
        problems += _exactly_one(graph, distribution, predicate, what)
    return problems


def file_problems(graph: Graph, folder: Path) -> list[str]:
    """Each distribution names one file of `folder` with its true size and SHA-256, and each
    data file of `folder` has exactly one distribution."""
    problems = []
    claimed: dict[str, int] = {}
    for distribution in graph.subjects(RDF.type, DCAT.Distribution):
        url = graph.value(distribution, DCAT.downloadURL)
        name = unquote(str(url or "").rsplit("/", 1)[-1])
        claimed[name] = claimed.get(name, 0) + 1
        problems += _file_matches(graph, distribution, folder / name, name)
    for path in sorted(folder.iterdir()):
        if path.is_file() and file_format(path.name):
            count = claimed.get(path.name, 0)
            if count != 1:
                problems.append(f"data file {path.name} has {count} distributions in the catalogue, not 1")
    return problems


def _file_matches(graph: Graph, distribution, path: Path, name: str) -> list[str]:
    if not name or not path.is_file():
        return [f"distribution {distribution} points to {name or 'nothing'}, which is not in the release"]
    problems = []
    size = graph.value(distribution, DCAT.byteSize)
    if size is None or str(size) != str(path.stat().st_size):
        problems.append(f"{name}: dcat:byteSize {size} but the file has {path.stat().st_size} bytes")
    checksum = graph.value(distribution, SPDX.checksum)
    value = str(graph.value(checksum, SPDX.checksumValue) or "") if checksum is not None else ""
    if value.lower() != sha256_of(path):
        problems.append(f"{name}: spdx:checksum {value or '(none)'} is not the file's SHA-256")
    return problems


def main(argv: list[str] | None = None) -> int:
    """`python -m publishing.shapes CATALOG.ttl|.jsonld ...`: validate by hand, offline.
    Prints every problem (or `valid`) per file; exit status 1 when any file has a problem."""
    paths = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m publishing.shapes CATALOG_FILE...", file=sys.stderr)
        return 2
    failed = False
    for path in paths:
        problems = validate_catalog(path) if path.is_file() else [f"{path} is not a file"]
        failed = failed or bool(problems)
        print(f"{path}: " + ("valid" if not problems else f"{len(problems)} problem(s)"))
        for problem in problems:
            print(f"  - {problem}")
    return 1 if failed else 0
