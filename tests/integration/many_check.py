#!/usr/bin/env python3
"""many_check.py - reads the output of an mxprobe run over many targets in
one of its formats and checks it against what the case expects
(cases-many.sh, issue 11).

    many_check.py FORMAT FILE [--count N] [--want KEY=STATES]...
                  [--checks KEY=PLUGIN+PLUGIN]... [--max-elapsed KEY=SEC]...
                  [--first KEY,KEY...] [--order KEY,KEY...]
                  [--zone-results N] [--port P] [--records]

FORMAT is nagios, text, json or openmetrics.  Each format is parsed by
its own grammar (DESIGN.md section 6, README "Output"), strictly: a line
that fits none of its shapes is an error.  From it come the target
records (host, address, state, plugins), the same for every format, on
which the options assert:

  --count N          exactly N target records
  --want KEY=STATES  exactly one record matches KEY, its state is one of
                     STATES ("CRITICAL" or "WARNING|CRITICAL"); KEY is
                     ADDRESS, or HOST@ADDRESS when an address is reported
                     under two hosts (a domain's report and its MX host's)
  --checks KEY=A+B   that record's checks are exactly A and B
  --max-elapsed KEY=SEC  (json) that target took at most SEC seconds
  --first KEY,KEY    (json: as they finish) these come first, any order
  --order KEY,...    the records in exactly this order
  --zone-results N   exactly N records hold a zone check
  --port P           (json, openmetrics) every record has port P
  --records          print the records (for a case comparing two runs)

The nagios (first) and text (last) summary lines must agree with the records: worst
state, number of targets, count per state.  Exit 0, or 1 with the
reasons on stdout.
"""
import argparse
import json
import re
import sys

STATES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
RANK = {"OK": 0, "UNKNOWN": 1, "WARNING": 2, "CRITICAL": 3}
CODE = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
ST = r"(OK|WARNING|CRITICAL|UNKNOWN)"


class Bad(Exception):
    pass


def rec(host, addr, state, plugins, **extra):
    r = dict(host=host, addr=addr, state=state, plugins=set(plugins))
    r.update(extra)
    return r


def name_addr(text):
    """'host [addr]' or 'addr' (mxp_target_name) into (host, addr)."""
    m = re.match(r"^(.*?) \[([^\]]+)\]$", text)
    if m:
        return m.group(1), m.group(2)
    return text, text


def worst(records):
    return max((r["state"] for r in records), key=lambda s: RANK[s],
               default="OK")


def counts_text(records):
    """What mxp_report_counts says: '3 critical, 1 ok', worst first."""
    parts = []
    for s in ("CRITICAL", "WARNING", "UNKNOWN", "OK"):
        n = sum(1 for r in records if r["state"] == s)
        if n:
            parts.append("%d %s" % (n, s.lower()))
    return ", ".join(parts) or "0 ok"


def check_summary(state, n, counts, records):
    if n != len(records):
        raise Bad("summary says %d targets, %d reported" % (n, len(records)))
    if state != worst(records):
        raise Bad("summary state %s, worst target %s" % (state,
                                                         worst(records)))
    if counts != counts_text(records):
        raise Bad("summary counts '%s', targets give '%s'"
                  % (counts, counts_text(records)))


def parse_nagios(text):
    """MXPROBE STATE - N targets: COUNTS, then per target a block
    '== NAME: STATE - SUMMARY' and its '[STATE] plugin: ...' lines, then
    one perfdata line '| host::label=...'."""
    lines = text.split("\n")
    if lines[-1] != "":
        raise Bad("output does not end with a newline")
    lines = lines[:-1]
    m = re.match(r"^MXPROBE %s - ([0-9]+) targets: (.*)$" % ST, lines[0])
    if not m:
        raise Bad("not a run summary line: %r" % lines[0][:200])
    state, n, counts = m.group(1), int(m.group(2)), m.group(3)
    records, cur = [], None
    for line in lines[1:]:
        b = re.match(r"^== (.+?): %s - (.*)$" % ST, line)
        c = re.match(r"^\[%s\] ([a-z0-9_-]+): " % ST, line)
        if b:
            host, addr = name_addr(b.group(1))
            cur = rec(host, addr, b.group(2), [])
            records.append(cur)
        elif c and cur is not None:
            cur["plugins"].add(c.group(2))
        elif line.startswith("|") or line.startswith("  "):
            pass  # perfdata, or a continued detail (-vv transcripts)
        else:
            raise Bad("line outside the grammar: %r" % line[:200])
    if sum(1 for l in lines if l.startswith("MXPROBE ")) != 1:
        raise Bad("more than one MXPROBE status line")
    check_summary(state, n, counts, records)
    return records


def parse_text(text):
    """Per target, as they are printed (stream order), 'NAME port P:
    STATE' and its indented check lines, a blank line after each; last,
    the run's 'N targets: STATE - COUNTS'."""
    lines = text.split("\n")
    if lines[-1] != "":
        raise Bad("output does not end with a newline")
    lines = lines[:-1]
    if re.search(r"\x1b", text):
        raise Bad("colour codes though stdout is no terminal")
    m = re.match(r"^([0-9]+) targets: %s - (.*)$" % ST, lines[-1])
    if not m:
        raise Bad("not a run summary line: %r" % lines[-1][:200])
    n, state, counts = int(m.group(1)), m.group(2), m.group(3)
    records, cur, prev = [], None, ""
    for line in lines[:-1]:
        t = re.match(r"^(\S.*) port ([0-9]+): %s$" % ST, line)
        c = re.match(r"^  %s +([a-z0-9_-]+) " % ST, line)
        if t:
            if prev != "":
                raise Bad("no blank line before %r" % line)
            host, addr = name_addr(t.group(1))
            cur = rec(host, addr, t.group(3), [], port=int(t.group(2)))
            records.append(cur)
        elif c and cur is not None:
            cur["plugins"].add(c.group(2))
        elif line == "" or line.startswith("  ") or line.startswith(
                "Performance data:"):
            pass
        else:
            raise Bad("line outside the grammar: %r" % line[:200])
        prev = line
    if prev != "":
        raise Bad("no blank line before the run summary")
    check_summary(state, n, counts, records)
    return records


def parse_json(text):
    """JSON Lines: one object per target per line (README "JSON")."""
    records = []
    if not text.endswith("\n"):
        raise Bad("output does not end with a newline")
    for i, line in enumerate(text.split("\n")[:-1], 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            raise Bad("line %d is not one JSON object: %s" % (i, e))
        if not isinstance(o, dict):
            raise Bad("line %d is not an object" % i)
        for k in ("host", "address", "port", "state", "exit_code",
                  "summary", "elapsed", "checks"):
            if k not in o:
                raise Bad("line %d has no %s" % (i, k))
        if o["state"] not in STATES or o["exit_code"] != CODE[o["state"]]:
            raise Bad("line %d: state %r, exit_code %r"
                      % (i, o["state"], o["exit_code"]))
        plugins = []
        for c in o["checks"]:
            if c.get("state") not in STATES or "plugin" not in c:
                raise Bad("line %d: bad check %r" % (i, c))
            if RANK[c["state"]] > RANK[o["state"]]:
                raise Bad("line %d: check %s %s above the target's %s"
                          % (i, c["plugin"], c["state"], o["state"]))
            plugins.append(c["plugin"])
        if o["checks"] and o.get("error") is None and \
                o["state"] != worst([{"state": c["state"]}
                                     for c in o["checks"]]):
            raise Bad("line %d: state %s is not the worst of its checks"
                      % (i, o["state"]))
        records.append(rec(o["host"], o["address"], o["state"], plugins,
                           port=o["port"], elapsed=o["elapsed"], obj=o))
    return records


def parse_openmetrics(text):
    """Gauge families, each TYPE and HELP once then all its samples, every
    series once, '# EOF' last; records from mxprobe_target_state."""
    lines = text.split("\n")
    if lines[-1] != "" or lines[-2] != "# EOF":
        raise Bad("does not end with '# EOF' and a newline")
    label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(%s(?:,%s)*)\} '
                        r'(-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|'
                        r'[+-]Inf)$' % (label, label))
    families, seen, series = [], set(), set()
    records, checks = {}, {}
    for line in lines[:-2]:
        m = re.match(r"^# (TYPE|HELP) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$",
                     line)
        if m:
            if m.group(1) == "TYPE":
                if m.group(2) in seen:
                    raise Bad("family twice: " + line)
                if m.group(3) != "gauge":
                    raise Bad("not a gauge: " + line)
                seen.add(m.group(2))
                families.append(m.group(2))
            elif not families or m.group(2) != families[-1]:
                raise Bad("HELP outside its family: " + line)
            continue
        m = sample.match(line)
        if not m:
            raise Bad("not a sample: %r" % line[:200])
        if not families or m.group(1) != families[-1]:
            raise Bad("sample outside its family: " + line)
        if (m.group(1), m.group(2)) in series:
            raise Bad("series twice: " + line)
        series.add((m.group(1), m.group(2)))
        lab = dict(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"',
                              m.group(2)))
        key = (lab.get("target"), lab.get("address"), lab.get("port"))
        if m.group(1) == "mxprobe_target_state":
            v = int(m.group(3))
            records[key] = rec(key[0], key[1], STATES[v] if v in (0, 1, 2)
                               else "UNKNOWN", [], port=int(key[2]))
        elif m.group(1) == "mxprobe_check_state":
            checks.setdefault(key, set()).add(lab["check"])
    for key, plugins in checks.items():
        if key not in records:
            raise Bad("check states of %r without its target state" %
                      (key,))
        records[key]["plugins"] = plugins
    if families[:2] != ["mxprobe_target_state", "mxprobe_check_state"]:
        raise Bad("families %r" % families)
    return list(records.values())


def key_of(r):
    return "%s@%s" % (r["host"], r["addr"])


def find(records, key):
    """The records KEY names: ADDRESS, HOST@ADDRESS, or a HOST without
    address."""
    return [r for r in records if key in (r["addr"], key_of(r))
            or (r["addr"] in (None, "") and r["host"] == key)]


def one(records, key):
    found = find(records, key)
    if len(found) != 1:
        raise Bad("%d targets match %s (targets: %s)"
                  % (len(found), key, ", ".join(key_of(r) for r in records)))
    return found[0]


def split_kv(text):
    k, _, v = text.rpartition("=")
    return k, v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("format", choices=["nagios", "text", "json",
                                       "openmetrics"])
    ap.add_argument("file")
    ap.add_argument("--count", type=int)
    ap.add_argument("--want", action="append", default=[])
    ap.add_argument("--checks", action="append", default=[])
    ap.add_argument("--max-elapsed", action="append", default=[])
    ap.add_argument("--first")
    ap.add_argument("--order")
    ap.add_argument("--zone-results", type=int)
    ap.add_argument("--port", type=int)
    ap.add_argument("--records", action="store_true")
    a = ap.parse_args()
    with open(a.file, encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        if text == "":
            raise Bad("no output")
        records = globals()["parse_" + a.format](text)
        if a.records:
            for r in records:
                print("%s %s %s" % (key_of(r), r["state"],
                                    "+".join(sorted(r["plugins"]))))
        if a.count is not None and len(records) != a.count:
            raise Bad("%d targets reported, want %d: %s"
                      % (len(records), a.count,
                         ", ".join(key_of(r) for r in records)))
        for w in a.want:
            k, v = split_kv(w)
            r = one(records, k)
            if r["state"] not in v.split("|"):
                raise Bad("%s is %s, want %s" % (k, r["state"], v))
        for w in a.checks:
            k, v = split_kv(w)
            r = one(records, k)
            if r["plugins"] != set(v.split("+")):
                raise Bad("%s ran %s, want %s"
                          % (k, "+".join(sorted(r["plugins"])), v))
        for w in a.max_elapsed:
            k, v = split_kv(w)
            r = one(records, k)
            if not r.get("elapsed", 0) <= float(v):
                raise Bad("%s took %s s, more than %s" % (k, r["elapsed"], v))
        if a.first:
            keys = a.first.split(",")
            head = records[:len(keys)]
            for k in keys:
                if not find(head, k):
                    raise Bad("%s is not among the first %d (%s)"
                              % (k, len(keys),
                                 ", ".join(key_of(r) for r in records)))
        if a.order:
            keys = a.order.split(",")
            if len(keys) != len(records) or not all(
                    find([r], k) for r, k in zip(records, keys)):
                raise Bad("order %s, want %s"
                          % (", ".join(key_of(r) for r in records),
                             ", ".join(keys)))
        if a.zone_results is not None:
            n = sum(1 for r in records if "zone" in r["plugins"])
            if n != a.zone_results:
                raise Bad("%d targets with a zone result, want %d"
                          % (n, a.zone_results))
        if a.port is not None:
            for r in records:
                if r.get("port") != a.port:
                    raise Bad("%s on port %r" % (key_of(r), r.get("port")))
    except Bad as e:
        print(e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
