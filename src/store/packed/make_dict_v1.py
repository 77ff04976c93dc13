"""Writes v1.dict, the zstd dictionary of stored values with tag 1.

Run once; never run again to change v1.dict: every value written with tag 1
needs these exact bytes to be read. A new dictionary gets a new file and a
new tag (see mod.rs).

What it holds is what stored values share whatever a user writes: the key
layout of a dashboard, of a history version and of each view type as
Tessera stores them (values blanked), the views again escaped as history's
splices carry them, and the Flux that the Influx UI's query builder writes
into every builder-made query.
"""
import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
VIEWS = os.path.join(HERE, "..", "..", "..", "tests", "fixtures", "views", "*.json")


def blank(o):
    if isinstance(o, dict):
        return {k: blank(v) for k, v in o.items()}
    if isinstance(o, list):
        return [blank(v) for v in o[:1]]
    if isinstance(o, bool):
        return o
    if isinstance(o, str):
        return ""
    if isinstance(o, (int, float)):
        return 0
    return o


BUILDER_FLUX = (
    'from(bucket: "")\n'
    "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n"
    '  |> filter(fn: (r) => r["_measurement"] == "")\n'
    '  |> filter(fn: (r) => r["_field"] == "")\n'
    "  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)\n"
    '  |> yield(name: "mean")'
)

# The stored layouts of a dashboard and of a history version (domain/
# dashboard.rs, domain/history.rs), values blanked.
DASHBOARD = (
    '{"id":"","orgID":"","name":"","description":"","createdAt":0,"updatedAt":0,'
    '"cells":[{"id":"","x":0,"y":0,"w":4,"h":4},{"id":"","x":0,"y":0,"w":4,"h":4}],'
    '"version":0,"createdBy":"","updatedBy":""}'
)
VERSION = '{"n":0,"t":0,"by":{"id":"","name":""},"s":"view changed","u":{"v":[{"c":"","w":{"s":{"n":"","a":0,"c":0,"i":""}}}]}}'

views = [
    json.dumps(blank(json.load(open(f))), separators=(",", ":"))
    for f in sorted(glob.glob(VIEWS))
]
# zstd reaches content near the dictionary's end with the cheapest offsets;
# of the orders tried on a view and a history version, this one stored the
# pair smallest.
parts = [DASHBOARD, json.dumps(BUILDER_FLUX), VERSION]
parts += [json.dumps(v)[1:-1] for v in views]
parts += views
parts += [json.dumps(json.dumps(BUILDER_FLUX))]
with open(os.path.join(HERE, "v1.dict"), "wb") as out:
    out.write("".join(parts).encode())
