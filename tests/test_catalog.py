"""The release's DCAT-AP-SE catalogue: built from a real release, checked with pySHACL against
the vendored official shapes (offline), and refused when it is broken."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyshacl
import pytest
from bronze_fixtures import DISTRICT_GEOMETRIES, all_rings, run_dbt, write_bronze_fixture
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, RDF, SKOS
from test_publishing import create_warehouse, stadsdata_manifest

from publishing import (
    Column,
    NotPublishable,
    OpenDataset,
    ReleaseError,
    latest_release,
    open_datasets_from_manifest,
    publish_release,
)
from publishing.catalog import (
    BASE_URL_ENV,
    CATALOG_JSONLD,
    CATALOG_TTL,
    DCAT_AP_SHAPES,
    DCATAP,
    HVD_SHAPES,
    RECOMMENDED_SHAPES,
    SHAPES,
    SPDX,
    VCARD,
    VOCABULARIES,
    CatalogError,
    data_files,
    high_value_subset,
    main,
    shacl_results,
    validate_catalog,
    write_catalog,
)
from publishing.datasets import catalog_settings, open_data_settings

# Plain namespaces: pytest's collection probes module attributes, which rdflib's closed
# DCAT and XSD namespaces answer with warnings.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
DEFAULT_BASE = catalog_settings()["base_url"]
HVD_REGULATION = URIRef("http://data.europa.eu/eli/reg_impl/2023/138/oj")
AUTHORITY = "http://publications.europa.eu/resource/authority/"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """One real release for the read-only tests: (warehouse, release folder), published by
    publish_release with the default public base URL. Tests that change it work on a copy."""
    folder = tmp_path_factory.mktemp("catalogue")
    warehouse = create_warehouse(folder / "stadsdata.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BASE_URL_ENV, raising=False)
        release = publish_release(warehouse, open_datasets_from_manifest(stadsdata_manifest()), folder / "r")
    return warehouse, release.path


@pytest.fixture
def release(built) -> Path:
    return built[1]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A fresh warehouse, for tests that publish releases of their own."""
    return create_warehouse(tmp_path / "stadsdata.duckdb")


@pytest.fixture
def datasets() -> list[OpenDataset]:
    return open_datasets_from_manifest(stadsdata_manifest())


def catalogue(release: Path) -> Graph:
    return Graph().parse(release / CATALOG_TTL, format="turtle")


def dataset_node(name: str) -> URIRef:
    return URIRef(f"{DEFAULT_BASE}datasets/{name}")


def shapes(names: tuple[str, ...]) -> Graph:
    graph = Graph()
    for name in names:
        graph.parse(SHAPES / name, format="turtle")
    return graph


def vocabularies() -> Graph:
    return shapes(VOCABULARIES)


def writable_copy(release: Path, into: Path) -> Path:
    copy = into / "copy"
    shutil.copytree(release, copy)
    for path in copy.iterdir():
        path.chmod(0o644)
    return copy


def rewrite(folder: Path, graph: Graph) -> None:
    """Write a changed graph as both forms, as write_catalog would."""
    (folder / CATALOG_TTL).write_text(graph.serialize(format="turtle"), encoding="utf-8")
    (folder / CATALOG_JSONLD).write_text(graph.serialize(format="json-ld"), encoding="utf-8")


# --- what the release holds ------------------------------------------------------------------


def test_both_forms_hold_one_graph_and_are_in_sha256sums(release):
    turtle = Graph().parse(release / CATALOG_TTL, format="turtle")
    json_ld = Graph().parse(release / CATALOG_JSONLD, format="json-ld")
    assert len(turtle) > 100
    assert isomorphic(turtle, json_ld)
    sums = (release / "SHA256SUMS").read_text(encoding="utf-8")
    for name in (CATALOG_TTL, CATALOG_JSONLD):
        digest = hashlib.sha256((release / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}\n" in sums


def test_conforms_to_the_official_dcat_ap_3_shapes_offline(release):
    """pySHACL itself, on the vendored shapes, with the vocabulary terms beside the data."""
    data = catalogue(release) + vocabularies()
    started = time.perf_counter()
    conforms, _, text = pyshacl.validate(
        data, shacl_graph=shapes(DCAT_AP_SHAPES), allow_warnings=True, inference="none"
    )
    seconds = time.perf_counter() - started
    assert conforms, text
    assert seconds < 10, f"DCAT-AP validation took {seconds:.1f} s"


def test_high_value_subset_conforms_to_the_hvd_shapes(release):
    graph = catalogue(release)
    subset = high_value_subset(graph)
    assert set(subset.subjects(RDF.type, DCAT.Dataset)) == {dataset_node("open_air_quality")}
    conforms, _, text = pyshacl.validate(
        subset + vocabularies(), shacl_graph=shapes(HVD_SHAPES), inference="rdfs", allow_warnings=True
    )
    assert conforms, text
    # the whole catalogue does not: districts is not a high-value dataset here
    conforms, _, _ = pyshacl.validate(
        graph + vocabularies(), shacl_graph=shapes(HVD_SHAPES), inference="rdfs", allow_warnings=True
    )
    assert not conforms


def test_only_known_recommendation_gaps_remain(release):
    """With the recommended shapes too, what is left are warnings this platform accepts:
    owners are not EU corporate bodies, no keywords or planned availability are declared,
    places (GeoNames, the data's box) carry no centroid, and a dataset without a time column
    (districts, in this warehouse) has no temporal coverage."""
    found = shacl_results(catalogue(release), DCAT_AP_SHAPES + RECOMMENDED_SHAPES)
    accepted = (
        "dct:publisher: Value must conform to every Shape in ('default2:CorporateBodyRestriction'",
        "dcat:keyword: Less than 1 values",
        "dcatap:availability: Less than 1 values",
        "dcat:centroid: Less than 1 values",
        "https://sws.geonames.org/2673730/ dcat:bbox: Less than 1 values",
        "datasets/open_districts dct:temporal: Less than 1 values",
    )
    assert found and all(line.startswith("[sh:Warning] ") for line in found), found
    assert [line for line in found if not any(a in line for a in accepted)] == []


def test_validate_catalog_finds_nothing_and_is_quick(release):
    started = time.perf_counter()
    assert validate_catalog(release / CATALOG_TTL) == []
    assert validate_catalog(release / CATALOG_JSONLD) == []
    assert time.perf_counter() - started < 20


def test_every_data_file_has_exactly_one_distribution_with_size_and_checksum(release):
    graph = catalogue(release)
    by_url = {}
    for distribution in graph.subjects(RDF.type, DCAT.Distribution):
        url = str(graph.value(distribution, DCAT.downloadURL))
        assert url not in by_url
        by_url[url] = distribution
    data = [p for p in release.iterdir() if p.suffix in (".csv", ".parquet", ".geojson")]
    assert {p.name for p in data} >= {"open_air_quality.csv", "open_districts.parquet"}
    assert len(by_url) == len(data)
    release_url = f"{DEFAULT_BASE}{release.name}/"
    for path in data:
        distribution = by_url[release_url + path.name]
        assert graph.value(distribution, DCAT.byteSize) == Literal(
            path.stat().st_size, datatype=XSD.nonNegativeInteger
        )
        checksum = graph.value(distribution, SPDX.checksum)
        value = graph.value(checksum, SPDX.checksumValue)
        assert value.datatype == XSD.hexBinary
        assert str(value).lower() == hashlib.sha256(path.read_bytes()).hexdigest()
        assert graph.value(distribution, DCAT.accessURL) == URIRef(release_url + path.name)
        file_type, media_type = {
            ".csv": ("CSV", "text/csv"),
            ".parquet": ("PARQUET", "application/vnd.apache.parquet"),
            ".geojson": ("GEOJSON", "application/geo+json"),
        }[path.suffix]
        assert graph.value(distribution, DCTERMS.format) == URIRef(f"{AUTHORITY}file-type/{file_type}")
        assert graph.value(distribution, DCAT.mediaType) == URIRef(
            f"https://www.iana.org/assignments/media-types/{media_type}"
        )


def test_high_value_datasets_cite_the_regulation_and_their_category(release):
    graph = catalogue(release)
    air = dataset_node("open_air_quality")
    assert (air, DCATAP.applicableLegislation, HVD_REGULATION) in graph
    assert graph.value(air, DCATAP.hvdCategory) == URIRef("http://data.europa.eu/bna/c_dd313021")
    for distribution in graph.objects(air, DCAT.distribution):
        assert (distribution, DCATAP.applicableLegislation, HVD_REGULATION) in graph
    districts = dataset_node("open_districts")
    assert graph.value(districts, DCATAP.hvdCategory) is None
    assert graph.value(districts, DCATAP.applicableLegislation) is None


def test_dataset_says_who_what_when_where_in_both_languages(built):
    warehouse, release = built
    graph = catalogue(release)
    air = dataset_node("open_air_quality")
    manifest_meta = stadsdata_manifest()["nodes"]["model.stadsdata.open_air_quality"]["config"]["meta"]
    titles = {t.language: str(t) for t in graph.objects(air, DCTERMS.title)}
    assert titles == {"sv": manifest_meta["title_sv"], "en": manifest_meta["title_en"]}
    descriptions = {d.language: str(d) for d in graph.objects(air, DCTERMS.description)}
    assert descriptions["en"] == "Hourly readings from the city's air-quality sensors, in µg/m³."
    assert descriptions["sv"] == manifest_meta["description_sv"]
    publisher = graph.value(air, DCTERMS.publisher)
    assert str(graph.value(publisher, FOAF.name)) == open_data_settings()["owners"]["miljo"]
    assert graph.value(publisher, DCTERMS.type) == URIRef("http://purl.org/adms/publishertype/LocalAuthority")
    contact = graph.value(air, DCAT.contactPoint)
    assert graph.value(contact, VCARD.hasEmail) == URIRef("mailto:miljo@stadsdata.stockholm.se")
    assert graph.value(air, DCAT.theme) == URIRef(f"{AUTHORITY}data-theme/ENVI")
    assert graph.value(air, DCTERMS.accrualPeriodicity) == URIRef(f"{AUTHORITY}frequency/CONT")
    assert graph.value(air, DCAT.temporalResolution) == Literal("PT1H", datatype=XSD.duration)
    assert URIRef("https://sws.geonames.org/2673730/") in set(graph.objects(air, DCTERMS.spatial))
    for distribution in graph.objects(air, DCAT.distribution):
        assert graph.value(distribution, DCTERMS.license) == URIRef(
            "http://creativecommons.org/publicdomain/zero/1.0/"
        )
    # temporal coverage: the first and last reading in the published data, in UTC
    period = graph.value(air, DCTERMS.temporal)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        first, last = con.execute(
            "SELECT strftime(min(observed_at), '%Y-%m-%dT%H:%M:%SZ'), "
            "strftime(max(observed_at), '%Y-%m-%dT%H:%M:%SZ') FROM open_air_quality"
        ).fetchone()
    assert graph.value(period, DCAT.startDate).toPython() == Literal(first, datatype=XSD.dateTime).toPython()
    assert graph.value(period, DCAT.endDate).toPython() == Literal(last, datatype=XSD.dateTime).toPython()
    # districts: annual, CC BY, two themes, no time column in this warehouse
    districts = dataset_node("open_districts")
    assert graph.value(districts, DCTERMS.accrualPeriodicity) == URIRef(f"{AUTHORITY}frequency/ANNUAL")
    assert set(graph.objects(districts, DCAT.theme)) == {
        URIRef(f"{AUTHORITY}data-theme/REGI"),
        URIRef(f"{AUTHORITY}data-theme/GOVE"),
    }
    assert graph.value(districts, DCTERMS.temporal) is None


def test_catalogue_has_one_licence_a_publisher_and_every_dataset(release, datasets):
    graph = catalogue(release)
    (node,) = graph.subjects(RDF.type, DCAT.Catalog)
    assert list(graph.objects(node, DCTERMS.license)) == [
        URIRef("http://creativecommons.org/publicdomain/zero/1.0/")
    ]
    assert {t.language for t in graph.objects(node, DCTERMS.title)} == {"sv", "en"}
    assert set(graph.objects(node, DCAT.dataset)) == {dataset_node(d.name) for d in datasets}
    assert graph.value(node, FOAF.homepage) == URIRef(DEFAULT_BASE)
    assert not any(isinstance(n, BNode) for triple in graph for n in triple)


# --- the public base URL ---------------------------------------------------------------------


def test_base_url_comes_from_the_argument_then_the_environment(release, datasets, tmp_path, monkeypatch):
    folder = writable_copy(release, tmp_path)
    monkeypatch.setenv(BASE_URL_ENV, "https://data.example.se/open")
    write_catalog(folder, datasets, "r1", "2026-01-01T00:00:00Z")
    urls = {str(u) for u in catalogue(folder).objects(None, DCAT.downloadURL)}
    assert urls and all(u.startswith("https://data.example.se/open/r1/") for u in urls)
    write_catalog(folder, datasets, "r1", "2026-01-01T00:00:00Z", base_url="https://cdn.example.se/x/")
    urls = {str(u) for u in catalogue(folder).objects(None, DCAT.downloadURL)}
    assert urls and all(u.startswith("https://cdn.example.se/x/r1/") for u in urls)
    with pytest.raises(CatalogError, match="not an absolute http"):
        write_catalog(folder, datasets, "r1", "2026-01-01T00:00:00Z", base_url="releases/")


# --- a broken catalogue ----------------------------------------------------------------------


def _drop(predicate, subject_of=None):
    def change(graph: Graph) -> None:
        subject = subject_of(graph) if subject_of else None
        graph.remove((subject, predicate, None))

    return change


def _the_catalogue(graph: Graph):
    return next(graph.subjects(RDF.type, DCAT.Catalog))


def _swedish_titles_only(graph: Graph) -> None:
    node = dataset_node("open_districts")
    for title in list(graph.objects(node, DCTERMS.title)):
        if title.language == "sv":
            graph.remove((node, DCTERMS.title, title))


def _all_titles(graph: Graph) -> None:
    graph.remove((dataset_node("open_districts"), DCTERMS.title, None))


def _hvd_legislation(graph: Graph) -> None:
    graph.remove((dataset_node("open_air_quality"), DCATAP.applicableLegislation, None))


def _a_blank_checksum(graph: Graph) -> None:
    distribution = next(graph.subjects(RDF.type, DCAT.Distribution))
    checksum = graph.value(distribution, SPDX.checksum)
    blank = BNode()
    for predicate, value in list(graph.predicate_objects(checksum)):
        graph.add((blank, predicate, value))
    graph.remove((checksum, None, None))
    graph.set((distribution, SPDX.checksum, blank))


def _a_wrong_byte_size(graph: Graph) -> None:
    distribution = next(graph.subjects(RDF.type, DCAT.Distribution))
    graph.set((distribution, DCAT.byteSize, Literal(1, datatype=XSD.nonNegativeInteger)))


def _an_unknown_theme(graph: Graph) -> None:
    graph.set((dataset_node("open_districts"), DCAT.theme, URIRef("http://example.org/theme/X")))


def _a_second_licence(graph: Graph) -> None:
    graph.add((_the_catalogue(graph), DCTERMS.license, URIRef("http://creativecommons.org/licenses/by/4.0/")))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_drop(DCTERMS.license, _the_catalogue), "exactly one catalogue licence"),
        (_a_second_licence, "exactly one catalogue licence"),
        (_all_titles, "datasets/open_districts dct:title: Less than 1 values"),
        (_swedish_titles_only, "open_districts has no dct:title in sv"),
        (_drop(DCTERMS.publisher, _the_catalogue), "catalog dct:publisher: Less than 1 values"),
        (_hvd_legislation, "DCAT-AP HVD: " + str(dataset_node("open_air_quality"))),
        (_a_blank_checksum, "a blank node (no IRI) is used"),
        (_a_wrong_byte_size, "dcat:byteSize 1 but the file has"),
        (_an_unknown_theme, "dcat:theme"),
    ],
    ids=[
        "no-catalogue-licence",
        "two-catalogue-licences",
        "no-title",
        "no-swedish-title",
        "no-publisher",
        "hvd-without-regulation",
        "blank-node",
        "wrong-size",
        "unknown-theme",
    ],
)
def test_a_broken_catalogue_fails_with_a_readable_message(release, tmp_path, change, expected):
    folder = writable_copy(release, tmp_path)
    graph = catalogue(folder)
    change(graph)
    rewrite(folder, graph)
    problems = validate_catalog(folder / CATALOG_TTL)
    assert any(expected in p for p in problems), problems


def test_a_changed_data_file_or_a_stray_one_is_found(release, tmp_path):
    folder = writable_copy(release, tmp_path)
    with (folder / "open_districts.csv").open("ab") as handle:
        handle.write(b"extra\r\n")
    shutil.copyfile(folder / "open_districts.parquet", folder / "open_unlisted.parquet")
    problems = validate_catalog(folder / CATALOG_TTL)
    assert any(p.startswith("open_districts.csv: spdx:checksum") for p in problems), problems
    assert "data file open_unlisted.parquet has 0 distributions in the catalogue, not 1" in problems


def test_twins_that_differ_are_found(release, tmp_path):
    folder = writable_copy(release, tmp_path)
    graph = catalogue(folder)
    graph.remove((dataset_node("open_districts"), DCTERMS.identifier, None))
    (folder / CATALOG_JSONLD).write_text(graph.serialize(format="json-ld"), encoding="utf-8")
    assert "catalog.ttl and catalog.jsonld do not hold the same graph" in validate_catalog(
        folder / CATALOG_TTL
    )


def test_by_hand_validation_command_reports_and_fails(release, tmp_path, capsys):
    assert main([str(release / CATALOG_TTL)]) == 0
    assert capsys.readouterr().out.strip() == f"{release / CATALOG_TTL}: valid"
    folder = writable_copy(release, tmp_path)
    graph = catalogue(folder)
    graph.remove((None, DCTERMS.license, None))
    rewrite(folder, graph)
    command = [sys.executable, "-m", "publishing.shapes", str(folder / CATALOG_JSONLD)]
    broken = subprocess.run(command, capture_output=True, text=True, check=False)
    assert broken.returncode == 1, broken.stderr
    assert "problem(s)" in broken.stdout and "exactly one catalogue licence" in broken.stdout


# --- the release refuses, and latest stays -----------------------------------------------------


def test_release_refuses_a_catalogue_that_does_not_validate(warehouse, datasets, tmp_path):
    releases = tmp_path / "releases"
    first = publish_release(warehouse, datasets, releases)
    untitled = [
        OpenDataset(**{**d.__dict__, "title": " ", "title_sv": "", "title_en": "", "description": ""})
        if d.name == "open_districts"
        else d
        for d in datasets
    ]
    with pytest.raises(ReleaseError, match="catalogue does not validate") as raised:
        publish_release(warehouse, untitled, releases)
    assert "open_districts has no dct:title in sv, en" in str(raised.value)
    assert os.readlink(releases / "latest") == first.id
    assert latest_release(releases) == first.path
    assert not [p for p in releases.iterdir() if p.name.startswith(".tmp-")]


def test_release_refuses_what_the_catalogue_cannot_state(warehouse, datasets, tmp_path):
    releases = tmp_path / "releases"
    fortnightly = [OpenDataset(**{**d.__dict__, "update_frequency": "fortnightly"}) for d in datasets]
    with pytest.raises(ReleaseError, match="update_frequency 'fortnightly' has no EU frequency"):
        publish_release(warehouse, fortnightly, releases)
    assert not (releases / "latest").exists()


# --- coverage measured from the data ---------------------------------------------------------


def test_bounding_box_and_years_come_from_the_published_data(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    square = {"type": "Polygon", "coordinates": [[[17.9, 59.3], [18.1, 59.3], [18.1, 59.4], [17.9, 59.3]]]}
    multi = {"type": "MultiPolygon", "coordinates": [[[[18.0, 59.25], [18.2, 59.35], [18.0, 59.25]]]]}
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE TABLE open_areas (area VARCHAR, year INTEGER, geometry VARCHAR)")
        con.executemany(
            "INSERT INTO open_areas VALUES (?, ?, ?)",
            [
                ("A", 2023, json.dumps(square)),
                ("B", 2025, json.dumps(multi)),
                ("C", None, json.dumps(square)),
            ],
        )
    areas = OpenDataset(
        "open_areas",
        "Areas",
        "Areas with outlines.",
        "sbk",
        "open",
        "CC0-1.0",
        "annual",
        [Column("area", "string"), Column("year", "integer"), Column("geometry", "string")],
        ["area"],
        title_sv="Områden",
        title_en="Areas",
        description_sv="Områden med gränser.",
        themes=("REGI",),
        hvd_category="geospatial",
        time_column="year",
    )
    release = publish_release(warehouse, [areas], tmp_path / "releases")
    graph = catalogue(release.path)
    node = dataset_node("open_areas")
    period = graph.value(node, DCTERMS.temporal)
    assert str(graph.value(period, DCAT.startDate)) == "2023"
    assert str(graph.value(period, DCAT.endDate)) == "2025"
    assert graph.value(period, DCAT.startDate).datatype == XSD.gYear
    places = graph.objects(node, DCTERMS.spatial)
    boxes = [graph.value(place, DCAT.bbox) for place in places]
    (box,) = [b for b in boxes if b is not None]
    assert str(box) == (
        "POLYGON((17.900000 59.250000, 18.200000 59.250000, 18.200000 59.400000, "
        "17.900000 59.400000, 17.900000 59.250000))"
    )
    assert validate_catalog(release.path / CATALOG_TTL) == []


def test_data_files_belong_to_the_longest_matching_dataset(tmp_path):
    for name in (
        "open_traffic.csv",
        "open_traffic_hourly.csv",
        "open_traffic_hourly-2025.parquet",
        "open_traffic_hourly-undated.csv",
        "open_traffic_hourly.geojson",
        "open_trafficked.csv",
        "datapackage.json",
        "catalog.ttl",
    ):
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = data_files(tmp_path, ["open_traffic", "open_traffic_hourly"])
    assert {name: [p.name for p in paths] for name, paths in found.items()} == {
        "open_traffic": ["open_traffic.csv"],
        "open_traffic_hourly": [
            "open_traffic_hourly-2025.parquet",
            "open_traffic_hourly-undated.csv",
            "open_traffic_hourly.csv",
            "open_traffic_hourly.geojson",
        ],
        "": ["open_trafficked.csv"],
    }


# --- the manifest guard and the vendored vocabulary -------------------------------------------


def _set_meta(manifest: dict, name: str, **meta) -> None:
    node = manifest["nodes"][f"model.stadsdata.{name}"]
    for place in (node["meta"], node["config"]["meta"]):
        for key, value in meta.items():
            if value is None:
                place.pop(key, None)
            else:
                place[key] = value


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"title_sv": None}, "config.meta.title_sv is not declared"),
        ({"title_en": ""}, "config.meta.title_en is not declared"),
        ({"description_sv": None}, "config.meta.description_sv is not declared"),
        ({"themes": None}, "config.meta.themes is not declared"),
        ({"themes": ["ENVI", "AIR"]}, "themes ['AIR'] are not EU data-theme codes"),
        ({"update_frequency": "fortnightly"}, "update_frequency 'fortnightly' has no EU frequency"),
        ({"hvd_category": "air"}, "hvd_category 'air' is not one of"),
        ({"time_column": "measured_at"}, "time_column 'measured_at' is not a declared column"),
        ({"temporal_resolution": "1 hour"}, "temporal_resolution '1 hour' is not an ISO 8601 duration"),
    ],
)
def test_manifest_guard_requires_what_the_catalogue_needs(change, expected):
    manifest = stadsdata_manifest()
    _set_meta(manifest, "open_air_quality", **change)
    with pytest.raises(NotPublishable) as raised:
        open_datasets_from_manifest(manifest)
    assert any(p.startswith("open_air_quality: ") and expected in p for p in raised.value.problems), (
        raised.value.problems
    )


def test_manifest_guard_requires_an_english_description():
    manifest = stadsdata_manifest()
    manifest["nodes"]["model.stadsdata.open_districts"]["description"] = "  "
    with pytest.raises(NotPublishable, match="open_districts: has no description"):
        open_datasets_from_manifest(manifest)


def test_every_code_the_catalogue_may_use_is_in_the_vendored_vocabulary():
    """catalog.yaml and the vocabulary files agree, so no valid model can yield a term the
    validator does not know; every licence and owner of open_data.yaml can be stated."""
    settings = catalog_settings()
    vocabulary = vocabularies()
    terms = [f"{AUTHORITY}data-theme/{code}" for code in settings["themes"]]
    terms += [f"{AUTHORITY}frequency/{code}" for code in settings["frequencies"].values()]
    terms += [f"{AUTHORITY}file-type/{f['file_type']}" for f in settings["formats"].values()]
    terms += [f"{AUTHORITY}language/{code}" for code in settings["catalogue"]["languages"]]
    terms += list(settings["hvd"]["categories"].values())
    terms += [f"http://purl.org/adms/publishertype/{kind}" for kind in settings["publisher_types"].values()]
    terms += [
        f"http://purl.org/adms/licencetype/{kind}"
        for entry in settings["licenses"].values()
        for kind in entry["types"]
    ]
    for term in terms:
        concept = URIRef(term)
        assert (concept, RDF.type, SKOS.Concept) in vocabulary, term
        scheme = vocabulary.value(concept, SKOS.inScheme)
        assert scheme is not None and vocabulary.value(scheme, DCTERMS.title) is not None, term
        assert vocabulary.value(concept, SKOS.prefLabel) is not None, term
    assert set(open_data_settings()["licenses"]) <= set(settings["licenses"])
    assert set(open_data_settings()["owners"]) <= set(settings["publisher_types"])


def test_vendored_shapes_are_the_official_files_with_their_licence():
    readme = (SHAPES / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in readme and "729eddfc176d0afee5850ade6528f96f72579412" in readme
    for name in (*DCAT_AP_SHAPES, *HVD_SHAPES):
        digest = hashlib.sha256((SHAPES / name).read_bytes()).hexdigest()
        assert digest in readme, f"{name} differs from the vendored file the README names"


# --- the real open models --------------------------------------------------------------------


@pytest.mark.slow
def test_the_real_open_models_publish_a_valid_high_value_catalogue(tmp_path, monkeypatch):
    """dbt builds the real models from the bronze fixture; their _open.yml metadata becomes a
    catalogue that validates, with the coverage of the data dbt actually produced."""
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    home = tmp_path / "home"
    write_bronze_fixture(home)
    result = run_dbt(["build"], home, tmp_path / "dbt")
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    warehouse = home / "warehouse" / "stadsdata.duckdb"
    release = publish_release(warehouse, open_datasets_from_manifest(manifest), tmp_path / "releases")
    started = time.perf_counter()
    assert validate_catalog(release.path / CATALOG_TTL) == []
    assert time.perf_counter() - started < 20
    graph = catalogue(release.path)
    categories = {
        "open_air_quality_hourly": "c_dd313021",  # earth observation and environment
        "open_traffic_hourly": "c_b79e35eb",  # mobility
        "open_districts": "c_ac64a52d",  # geospatial
    }
    for name, category in categories.items():
        node = dataset_node(name)
        assert graph.value(node, DCATAP.hvdCategory) == URIRef(f"http://data.europa.eu/bna/{category}")
        assert (node, DCATAP.applicableLegislation, HVD_REGULATION) in graph
        assert {t.language for t in graph.objects(node, DCTERMS.title)} == {"sv", "en"}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        first, last = con.execute(
            "SELECT strftime(min(hour_utc), '%Y-%m-%dT%H:%M:%SZ'), "
            "strftime(max(hour_utc), '%Y-%m-%dT%H:%M:%SZ') FROM open_air_quality_hourly"
        ).fetchone()
    period = graph.value(dataset_node("open_air_quality_hourly"), DCTERMS.temporal)
    assert str(graph.value(period, DCAT.startDate)).replace("+00:00", "Z") == first
    assert str(graph.value(period, DCAT.endDate)).replace("+00:00", "Z") == last
    points = [p for g in DISTRICT_GEOMETRIES.values() for ring in all_rings(g) for p in ring]
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    boxes = [
        graph.value(place, DCAT.bbox)
        for place in graph.objects(dataset_node("open_districts"), DCTERMS.spatial)
    ]
    assert [str(b) for b in boxes if b is not None] == [
        f"POLYGON(({west:.6f} {south:.6f}, {east:.6f} {south:.6f}, {east:.6f} {north:.6f}, "
        f"{west:.6f} {north:.6f}, {west:.6f} {south:.6f}))"
    ]
