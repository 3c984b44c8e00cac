#!/usr/bin/python3
"""docs.py - the man pages say what the code does.

Run by tests/configs/docs.sh (make check-configs, part of make check):

  (a) every option the parser of src/core/cli.c accepts (its getopt
      string and long option table) has an entry in OPTIONS of
      doc/mxprobe.1, every option there is one the parser accepts, and
      `mxprobe -h` names only options the parser accepts, all of them;
  (b) every config key the loader accepts (probe:, targets: entries,
      submit:, submit.icinga2:, the top-level sections, read from
      src/core/config.c; each plugin's keys, from the plugins' own
      descriptors via `mxprobe --list-plugins -v`; the DNSBL list items
      of plugins/dnsbl/dnsbl.c) has an entry in doc/mxprobe.yaml.5, and
      every entry there is a key the code accepts;
  (c) each default stated there equals the built-in conf/mxprobe.yaml,
      the core's own defaults (config.c) and each plugin's default
      thresholds, where those give one;
  (d) groff -man -ww (and mandoc -Tlint, when installed) find nothing
      to say about either page;
  (e) the YAML examples of mxprobe.yaml.5 are configs mxprobe accepts
      (run against a closed loopback port: nothing leaves the machine);
  and every environment variable the core reads is in ENVIRONMENT.

An entry of mxprobe.yaml.5 is a .TP whose tag line reads
  \\fBKEY\\fR (TYPE, default VALUE)    or    \\fBKEY\\fR (TYPE, no default)
Before checking the real pages it checks mutated copies (an option, a
key, a default, an example taken out or changed, an unknown macro) and
fails unless each is caught, so the test is known to be able to fail.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    sys.exit("docs: python3-yaml is missing (make deps)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("MXPROBE_BUILD", "build")
MXPROBE = os.path.join(ROOT, BUILD, "mxprobe")
MAN1 = os.path.join(ROOT, "doc", "mxprobe.1")
MAN5 = os.path.join(ROOT, "doc", "mxprobe.yaml.5")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---- roff ------------------------------------------------------------

def unroff(line):
    """A roff line as plain text: macro name, quotes and escapes gone."""
    m = re.match(r"^\.(B|I|BR|RB|BI|IB|IR|RI)\s+(.*)$", line)
    if m:
        line = m.group(2).replace('"', "")
    line = re.sub(r"\\f[BIRP]", "", line)
    for esc, ch in (("\\(aq", "'"), ("\\(dq", '"'), ("\\-", "-"),
                    ("\\e", "\\"), ("\\&", ""), ("\\ ", " ")):
        line = line.replace(esc, ch)
    return line


def sections(text):
    """{'.SH name': [lines]} of a page."""
    out, name = {}, None
    for line in text.splitlines():
        m = re.match(r'^\.SH\s+"?([^"]*)"?\s*$', line)
        if m:
            name = m.group(1).strip()
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return out


def tags(lines):
    """The tag lines of the .TP/.TQ items of a section."""
    out = []
    for i, line in enumerate(lines):
        if line.startswith((".TP", ".TQ")) and i + 1 < len(lines):
            out.append(lines[i + 1])
    return out


# ---- (a) options -----------------------------------------------------

OPT_RE = re.compile(r"(?<![\w-])(--[a-z][a-z-]*[a-z]|-[A-Za-z0-9])(?![\w-])")


def parser_options():
    src = read(os.path.join(ROOT, "src", "core", "cli.c"))
    m = re.search(r'getopt_long\(\s*argc,\s*argv,\s*"([^"]+)"', src)
    if not m:
        raise SystemExit("docs: no getopt_long(...) string in cli.c")
    opts = {"-" + c for c in m.group(1) if c != ":"}
    longs = re.findall(r'\{"([a-z][a-z-]*)",\s*(?:no|required|optional)_argument',
                       src)
    if not longs:
        raise SystemExit("docs: no long option table in cli.c")
    return opts | {"--" + n for n in longs}


def help_options():
    out = subprocess.run([MXPROBE, "-h"], capture_output=True, text=True,
                         check=True).stdout
    body = out.split("\nOptions:\n", 1)
    if len(body) != 2:
        raise SystemExit("docs: mxprobe -h has no Options: part")
    found = set()
    for line in body[1].splitlines():
        # an option line (not a description's continuation, indented
        # further): its option column, up to the blanks before the text
        if re.match(r"^ {1,6}-", line):
            col = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
            found |= set(OPT_RE.findall(col))
    return found


def man_options(man1):
    found = set()
    for tag in tags(sections(man1).get("OPTIONS", [])):
        found |= set(OPT_RE.findall(unroff(tag)))
    return found


def check_options(man1, parser, helped):
    errs = []
    documented = man_options(man1)
    for o in sorted(parser - documented):
        errs.append("mxprobe.1: option %s (cli.c accepts it) has no entry "
                    "in OPTIONS" % o)
    for o in sorted(documented - parser):
        errs.append("mxprobe.1: OPTIONS documents %s, which cli.c does not "
                    "accept" % o)
    for o in sorted(helped - parser):
        errs.append("mxprobe -h: shows %s, which cli.c does not accept" % o)
    for o in sorted(parser - helped):
        errs.append("mxprobe -h: does not show %s" % o)
    return errs


def check_environment(man1):
    errs = []
    names = set()
    for d in ("src/core", "plugins"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, d)):
            for f in files:
                if f.endswith(".c"):
                    names |= set(re.findall(r'getenv\("([A-Z_0-9]+)"\)',
                                            read(os.path.join(dirpath, f))))
    env = {unroff(t).strip() for t in tags(sections(man1).get("ENVIRONMENT", []))}
    for n in sorted(names - env):
        errs.append("mxprobe.1: ENVIRONMENT lacks %s (the code reads it)" % n)
    return errs


# ---- (b) config keys -------------------------------------------------

def c_function(src, name):
    m = re.search(r"^static int %s\([^)]*\)\s*\{.*?^\}" % name, src,
                  re.S | re.M)
    if not m:
        raise SystemExit("docs: no function %s() in config.c" % name)
    return m.group(0)


def strcmp_keys(body, var):
    return set(re.findall(r'strcmp\(%s,\s*"([a-z_0-9]+)"\)\s*==\s*0' % var,
                          body))


def code_keys():
    """Every key the loaders accept, as dotted paths."""
    cfg = read(os.path.join(ROOT, "src", "core", "config.c"))
    keys = set()
    top = strcmp_keys(c_function(cfg, "validate"), "k")
    for k in strcmp_keys(c_function(cfg, "load_probe"), "k"):
        keys.add("probe." + k)
    for k in strcmp_keys(c_function(cfg, "load_target"), "k"):
        keys.add("targets[]." + k)
    icinga = strcmp_keys(c_function(cfg, "load_submit_icinga2"), "k")
    for k in strcmp_keys(c_function(cfg, "load_submit"), "k"):
        if k != "icinga2":
            keys.add("submit." + k)
    for k in icinga:
        keys.add("submit.icinga2." + k)
    for k in top:
        if k not in ("probe", "plugins", "submit"):
            keys.add(k)
    dnsbl = read(os.path.join(ROOT, "plugins", "dnsbl", "dnsbl.c"))
    item = re.search(r"^static int load_item\(.*?^\}", dnsbl, re.S | re.M)
    code = re.search(r"^static int load_code_value\(.*?^\}", dnsbl,
                     re.S | re.M)
    if not item or not code:
        raise SystemExit("docs: no load_item/load_code_value in dnsbl.c")
    for k in strcmp_keys(item.group(0), "key"):
        keys.add("zones[]." + k)
    for k in strcmp_keys(code.group(0), "k"):
        keys.add("zones[].codes.CODE." + k)
    return top, keys


def plugin_info():
    """{plugin: (keys, {'warning': default or None, 'critical': ...})}
    from the descriptors of the built plugins."""
    env = dict(os.environ, MXPROBE_CONFIG="")
    env.pop("MXPROBE_PLUGIN_PATH", None)  # the shipped plugins only
    out = subprocess.run([MXPROBE, "--list-plugins", "-v"], capture_output=True,
                         text=True, env=env, check=True).stdout
    info, name = {}, None
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s", line)
        if m:
            name = m.group(1)
            if " refused: " in line:
                raise SystemExit("docs: plugin refused: " + line)
            info[name] = ([], {})
            continue
        m = re.match(r"^\s+config keys: (.*)$", line)
        if m and name:
            info[name][0].extend(k.strip() for k in m.group(1).split(","))
        m = re.match(r"^\s+default thresholds: warning (\S+), critical (\S+)$",
                     line)
        if m and name:
            w, c = m.groups()
            info[name][1].update(warning=None if w == "none" else w,
                                 critical=None if c == "none" else c)
    if not info:
        raise SystemExit("docs: %s --list-plugins -v lists no plugin" % MXPROBE)
    for n, (k, t) in info.items():
        if not k or not t:
            raise SystemExit("docs: --list-plugins -v gave no keys or "
                             "thresholds for %s" % n)
    return info


ENTRY_RE = re.compile(r"^(\S+) \((.+?), (no default|default (.*))\)$")


def man_keys(man5):
    """{key: (type, default text or None)} of mxprobe.yaml.5, and errors
    for tags that do not follow the convention."""
    keys, errs = {}, []
    for tag in tags(man5.splitlines()):
        if not tag.startswith("\\fB"):
            continue
        text = unroff(tag)
        m = ENTRY_RE.match(text)
        if not m:
            if re.match(r"^[a-z_\[\]]+[.\[]", text):
                errs.append("mxprobe.yaml.5: entry '%s' does not read "
                            "'KEY (TYPE, default VALUE)' or "
                            "'KEY (TYPE, no default)'" % text)
            continue
        key = m.group(1)
        if key in keys:
            errs.append("mxprobe.yaml.5: %s has two entries" % key)
        keys[key] = (m.group(2), m.group(4))
    return keys, errs


def check_keys(man5, top, keys, plugins):
    documented, errs = man_keys(man5)
    want = set(keys)
    for p, (pkeys, _) in plugins.items():
        want |= {"plugins.%s.%s" % (p, k) for k in pkeys}
    for k in sorted(want - set(documented)):
        errs.append("mxprobe.yaml.5: key %s (the code accepts it) has no "
                    "entry" % k)
    for k in sorted(set(documented) - want):
        errs.append("mxprobe.yaml.5: documents %s, which the code does not "
                    "accept" % k)
    for t in sorted(top):
        if not any(k == t or k.startswith(t + ".") or k.startswith(t + "[")
                   for k in documented):
            errs.append("mxprobe.yaml.5: nothing documents the top-level "
                        "section %s:" % t)
    return documented, errs


# ---- (c) defaults ----------------------------------------------------

def canon(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return "%g" % v
    if isinstance(v, list):
        return "[" + ", ".join(canon(x) for x in v) + "]"
    if isinstance(v, str):
        return "''" if v == "" else v
    raise ValueError("no canonical form for %r" % (v,))


def yaml_defaults():
    with open(os.path.join(ROOT, "conf", "mxprobe.yaml"), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    out = {}
    for k, v in (doc.get("probe") or {}).items():
        out["probe." + k] = v
    for k in ("checks", "targets"):
        if k in doc:
            out[k] = doc[k]
    for k, v in (doc.get("submit") or {}).items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                out["submit.%s.%s" % (k, k2)] = v2
        else:
            out["submit." + k] = v
    for p, sec in (doc.get("plugins") or {}).items():
        for k, v in (sec or {}).items():
            out["plugins.%s.%s" % (p, k)] = v
    return {k: v for k, v in out.items() if v is not None}


def core_defaults():
    """The probe: defaults mxp_config_load sets before reading a file."""
    cfg = read(os.path.join(ROOT, "src", "core", "config.c"))
    m = re.search(r"^int mxp_config_load\(.*?^\}", cfg, re.S | re.M)
    if not m:
        raise SystemExit("docs: no mxp_config_load() in config.c")
    return {"probe." + k: v for k, v in
            re.findall(r"cfg->([a-z_]+) = ([0-9.]+);", m.group(0))}


def same_number(a, b):
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def check_defaults(documented, ydef, cdef, plugins):
    errs = []
    for k, v in sorted(ydef.items()):
        if k not in documented:
            continue  # (b) says so
        man = documented[k][1]
        if man is None:
            errs.append("mxprobe.yaml.5: %s says no default; conf/mxprobe.yaml "
                        "has %s" % (k, canon(v)))
        elif man != canon(v):
            errs.append("mxprobe.yaml.5: %s: default %s, conf/mxprobe.yaml "
                        "has %s" % (k, man, canon(v)))
    for k, v in sorted(cdef.items()):
        man = documented.get(k, (None, None))[1]
        if k not in documented:
            continue
        if man is None or not same_number(man, v):
            errs.append("mxprobe.yaml.5: %s: default %s, config.c sets %s" %
                        (k, man, v))
        if k in ydef and not same_number(canon(ydef[k]), v):
            errs.append("conf/mxprobe.yaml: %s is %s, config.c's default %s" %
                        (k, canon(ydef[k]), v))
    for p, (_, thr) in sorted(plugins.items()):
        for which in ("warning", "critical"):
            k = "plugins.%s.%s" % (p, which)
            if k not in documented:
                continue
            man, code = documented[k][1], thr.get(which)
            if code is None and k not in ydef and man is not None:
                errs.append("mxprobe.yaml.5: %s: default %s, but the plugin "
                            "has none" % (k, man))
            if code is not None and man != code:
                errs.append("mxprobe.yaml.5: %s: default %s, the plugin's "
                            "is %s" % (k, man, code))
            if code is not None and k in ydef and canon(ydef[k]) != code:
                errs.append("conf/mxprobe.yaml: %s is %s, the plugin's "
                            "default %s" % (k, canon(ydef[k]), code))
    return errs


def check_dnsbl_file(documented):
    """Every key used in conf/dnsbl.yaml is documented."""
    with open(os.path.join(ROOT, "conf", "dnsbl.yaml"), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    errs = []
    used = set()
    for item in doc.get("zones", []):
        if isinstance(item, dict):
            used |= {"zones[]." + k for k in item}
            for v in (item.get("codes") or {}).values():
                if isinstance(v, dict):
                    used |= {"zones[].codes.CODE." + k for k in v}
    for k in sorted(used - set(documented)):
        errs.append("mxprobe.yaml.5: conf/dnsbl.yaml uses %s, not "
                    "documented" % k)
    return errs


# ---- the examples load ------------------------------------------------

def yaml_examples(man5):
    """The .nf blocks of mxprobe.yaml.5 that are YAML documents (a first
    line 'key:'), as plain text."""
    out, block = [], None
    for line in man5.splitlines():
        if line == ".nf":
            block = []
        elif line == ".fi" and block is not None:
            if block and re.match(r"^[a-z_]+:$", block[0]):
                out.append("\n".join(block) + "\n")
            block = None
        elif block is not None:
            block.append(unroff(line) if not line.startswith(".") else "")
    return out


_RUNS = {}


def run_probe(args):
    """mxprobe against a closed loopback port, its DNS a closed loopback
    port too: nothing leaves the machine, and the config is read and
    every named check initialised before anything runs."""
    env = dict(os.environ, MXPROBE_CONFIG="")
    env.pop("MXPROBE_PLUGIN_PATH", None)
    cmd = [MXPROBE, "-H", "127.0.0.1", "-p", "9", "-t", "3", "-o", "nagios",
           "--dns-server", "127.0.0.1:9", "--set", "probe.dns_timeout=0.2",
           "--set", "probe.dns_tries=1"] + args
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def example_refused(text, tmp, i):
    """The first line of mxprobe's answer when it refuses example text,
    else None; each text is run once (the self-test repeats them)."""
    if text in _RUNS:
        return _RUNS[text]
    path = os.path.join(tmp, "example%d.yaml" % i)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    if text.startswith("zones:"):
        r = run_probe(["-C", "dnsbl", "--set", "dnsbl.zones_file=" + path])
    else:
        doc = yaml.safe_load(text) or {}
        names = sorted((doc.get("plugins") or {}).keys()) or ["banner"]
        r = run_probe(["-f", path, "-C", ",".join(names)])
    first = (r.stdout.splitlines() or [""])[0]
    bad = not first.startswith("MXPROBE ") or path in first or \
        "config" in first
    _RUNS[text] = (first or r.stderr.strip()) if bad else None
    return _RUNS[text]


def check_examples(man5):
    """Each YAML example of mxprobe.yaml.5 is a config (or, with zones:,
    a DNSBL list) that mxprobe accepts."""
    errs = []
    examples = yaml_examples(man5)
    if len(examples) < 3:
        return ["mxprobe.yaml.5: fewer than 3 YAML examples found"]
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(examples):
            why = example_refused(text, tmp, i)
            if why is not None:
                errs.append("mxprobe.yaml.5: example %d is refused: %s" %
                            (i + 1, why))
    return errs


# ---- (d) lint --------------------------------------------------------

def lint(path):
    errs = []
    if shutil.which("groff") is None:
        return ["groff is missing (make deps installs groff-base)"]
    r = subprocess.run(["groff", "-man", "-ww", "-z", path],
                       capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        errs.append("groff -man -ww: %s: %s" % (os.path.basename(path),
                                                r.stderr.strip() or
                                                "exit %d" % r.returncode))
    if shutil.which("mandoc") is not None:
        r = subprocess.run(["mandoc", "-Tlint", path], capture_output=True,
                           text=True)
        out = (r.stdout + r.stderr).strip()
        if r.returncode != 0 or out:
            errs.append("mandoc -Tlint: " + (out or "exit %d" % r.returncode))
    return errs


def check_crossrefs(man1, man5):
    errs = []
    if "mxprobe.yaml (5)" not in man1:
        errs.append("mxprobe.1: no reference to mxprobe.yaml(5)")
    if ".BR mxprobe (1)" not in man5:
        errs.append("mxprobe.yaml.5: no reference to mxprobe(1)")
    return errs


# ---- the whole -------------------------------------------------------

class Facts:
    def __init__(self):
        self.parser = parser_options()
        self.helped = help_options()
        self.top, self.keys = code_keys()
        self.plugins = plugin_info()
        self.ydef = yaml_defaults()
        self.cdef = core_defaults()


def check(facts, man1, man5):
    errs = check_options(man1, facts.parser, facts.helped)
    errs += check_environment(man1)
    documented, e = check_keys(man5, facts.top, facts.keys, facts.plugins)
    errs += e
    errs += check_defaults(documented, facts.ydef, facts.cdef, facts.plugins)
    errs += check_dnsbl_file(documented)
    errs += check_crossrefs(man1, man5)
    errs += check_examples(man5)
    return errs


def drop_entry(text, needle):
    """The page without the .TP item whose tag line contains needle."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith((".TP", ".TQ")) and i + 1 < len(lines) and \
                needle in lines[i + 1]:
            j = i + 2
            while j < len(lines) and not lines[j].startswith((".TP", ".TQ",
                                                              ".SH", ".SS")):
                j += 1
            return "".join(lines[:i] + lines[j:])
    raise SystemExit("docs: self-test: no entry with %r" % needle)


def self_test(facts, man1, man5):
    """Mutations of the real pages that the check must catch."""
    cases = [
        ("option --jobs removed", drop_entry(man1, "\\-\\-jobs"), man5,
         "option --jobs"),
        ("option -4/-6 removed", drop_entry(man1, ".BR \\-4"), man5,
         "option -4"),
        ("key probe.scan_rate removed", man1,
         drop_entry(man5, "\\fBprobe.scan_rate\\fR"), "probe.scan_rate"),
        ("key plugins.relay.connections removed", man1,
         drop_entry(man5, "\\fBplugins.relay.connections\\fR"),
         "plugins.relay.connections"),
        ("key submit.icinga2.ca_file removed", man1,
         drop_entry(man5, "\\fBsubmit.icinga2.ca_file\\fR"),
         "submit.icinga2.ca_file"),
        ("default changed", man1,
         man5.replace("\\fBprobe.connect_timeout\\fR (seconds, default 5)",
                      "\\fBprobe.connect_timeout\\fR (seconds, default 6)"),
         "probe.connect_timeout"),
        ("threshold default changed", man1,
         man5.replace("\\fBplugins.dnsbl.critical\\fR (range, default 2)",
                      "\\fBplugins.dnsbl.critical\\fR (range, default 3)"),
         "plugins.dnsbl.critical"),
        ("key invented", man1,
         man5 + ".TP\n\\fBprobe.no_such_key\\fR (number, default 1)\n",
         "probe.no_such_key"),
        ("MXPROBE_CONFIG removed", drop_entry(man1, ".B MXPROBE_CONFIG"),
         man5, "MXPROBE_CONFIG"),
        ("example with a wrong key", man1,
         man5.replace("  helo_name: probe.example.org\n",
                      "  helo: probe.example.org\n"), "example"),
        ("DNSBL example with a wrong code", man1,
         man5.replace("      127.0.0.4: XBL\n", "      128.0.0.4: XBL\n"),
         "example"),
    ]
    errs = []
    for what, m1, m5, expect in cases:
        if m1 == man1 and m5 == man5:
            errs.append("self-test: %s: the mutation changed nothing" % what)
            continue
        found = [e for e in check(facts, m1, m5) if expect in e]
        if not found:
            errs.append("self-test: %s: not caught" % what)
    # A lint warning is caught too.
    with tempfile.NamedTemporaryFile("w", suffix=".1") as f:
        f.write(man1 + ".BX unknown macro\n")
        f.flush()
        if not lint(f.name):
            errs.append("self-test: an unknown macro passed the lint")
    return errs, len(cases) + 1


def main():
    if not os.access(MXPROBE, os.X_OK):
        sys.exit("docs: no %s (make first)" % MXPROBE)
    man1, man5 = read(MAN1), read(MAN5)
    facts = Facts()
    errs, n_mut = self_test(facts, man1, man5)
    if errs:
        for e in errs:
            print("docs: " + e)
        sys.exit(1)
    errs = check(facts, man1, man5) + lint(MAN1) + lint(MAN5)
    for e in errs:
        print("docs: " + e)
    if errs:
        sys.exit(1)
    documented, _ = man_keys(man5)
    checked = set(facts.ydef) | set(facts.cdef)
    for p, (_, thr) in facts.plugins.items():
        checked |= {"plugins.%s.%s" % (p, w) for w, v in thr.items() if v}
    print("docs: ok: %d options, %d config keys (%d defaults checked), "
          "groff%s clean, %d mutations caught" %
          (len(facts.parser), len(documented), len(checked & set(documented)),
           " and mandoc" if shutil.which("mandoc") else "", n_mut))

if __name__ == "__main__":
    main()
