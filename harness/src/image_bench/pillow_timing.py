"""Times Pillow doing SmolVLM's resizes, for `bench bench-preprocess`.

Reads a JSON job on stdin: {"repeats": N, "images": [paths], "geometries": [{"name", "longest_edge",
"tile", "splitting", "resample"}], "sizes": {"<path>|<geometry>": [[w, h], ...]}} where sizes are the
resize targets SmolBench computed (the first resize, the resize to tile multiples, and the global
view), so both sides do the same work. Prints one JSON object: median milliseconds per image.
"""
import json
import sys
import time

import PIL
from PIL import Image


def run_once(path, geometry, steps):
    im = Image.open(path)
    im = im.convert("RGB")
    tile = geometry["tile"]
    resample = geometry["resample"]
    first, multiples = steps[0], steps[1]
    im = im.resize(tuple(first), resample=resample)
    if not geometry["splitting"]:
        im.resize((tile, tile), resample=resample)
        return
    im = im.resize(tuple(multiples), resample=resample)
    w, h = im.size
    if w > tile or h > tile:
        for top in range(0, h, tile):
            for left in range(0, w, tile):
                im.crop((left, top, left + tile, top + tile)).load()
        im.resize((tile, tile), resample=resample)


def main():
    job = json.load(sys.stdin)
    out = {"pillow": PIL.__version__, "median_ms": {}}
    for path in job["images"]:
        for geometry in job["geometries"]:
            key = f"{path}|{geometry['name']}"
            steps = job["sizes"][key]
            times = []
            for _ in range(job["repeats"]):
                start = time.perf_counter()
                run_once(path, geometry, steps)
                times.append((time.perf_counter() - start) * 1e3)
            times.sort()
            out["median_ms"][key] = times[len(times) // 2]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
