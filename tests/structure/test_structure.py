"""The module structure of docs/architecture.md, checked against the code.

The allowed dependency graph is read from the table in docs/architecture.md (section
"Modules and their dependencies"), so the document and this test cannot drift apart:
  * every `#include "module/..."` in a module's sources names the module itself or one it
    may depend on;
  * every glint_* library a module's CMake targets link belongs to an allowed module;
  * the client executables (glint-fs, glint) link, even transitively, nothing of the
    server (control, catalog, auth, sql);
  * no source file is over the size limit and no function over the length limit; no other
    code file (tests, fuzz targets, benches, tools) is over the size limit;
  * pyflakes finds nothing in the Python code (tests, benches, tools);
  * no two sources that may share a unity batch define internal names (anonymous
    namespaces, `static`) alike.
"""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80
SERVER_LIBS = {"glint_control", "glint_http", "glint_catalog", "glint_glance_import", "glint_auth", "glint_sql"}


def allowed_graph():
    text = open(os.path.join(ROOT, "docs", "architecture.md")).read()
    section = text.split("## Modules and their dependencies", 1)[1].split("\n## ", 1)[0]
    graph = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*`(\w+)/`\s*\|\s*([^|]*)\|", line)
        if m:
            deps = re.findall(r"`(\w+)/`", m.group(2))
            graph[m.group(1)] = set(deps)
    assert graph, "no module table found in docs/architecture.md"
    return graph


GRAPH = allowed_graph()


def sources(module):
    d = os.path.join(ROOT, module)
    for name in sorted(os.listdir(d)):
        if name.endswith((".cc", ".h")):
            yield os.path.join(d, name)


def test_every_source_folder_is_in_the_table():
    folders = {d for d in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, d)) and any(
        f.endswith((".cc", ".h")) for f in os.listdir(os.path.join(ROOT, d)))}
    folders -= {"tests", "fuzz", "bench", "build"}
    folders = {f for f in folders if not f.startswith("build")}
    assert folders <= set(GRAPH), "modules missing from docs/architecture.md: %s" % (folders - set(GRAPH))


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_includes_follow_the_graph(module):
    bad = []
    for path in sources(module):
        for n, line in enumerate(open(path, errors="replace"), 1):
            m = re.match(r'\s*#\s*include\s+"(\w+)/', line)
            if m and m.group(1) != module and m.group(1) not in GRAPH[module]:
                bad.append("%s:%d includes %s/" % (os.path.relpath(path, ROOT), n, m.group(1)))
    assert not bad, "\n".join(bad)


def cmake_links():
    """target -> set of glint_* targets it links, and target -> module folder."""
    links, owner = {}, {}
    for module in GRAPH:
        path = os.path.join(ROOT, module, "CMakeLists.txt")
        if not os.path.exists(path):
            continue
        text = re.sub(r"#.*", "", open(path).read())
        for m in re.finditer(r"add_(?:library|executable)\(\s*([\w-]+)", text):
            owner[m.group(1)] = module
        for m in re.finditer(r"target_link_libraries\(\s*([\w-]+)([^)]*)\)", text, re.S):
            links.setdefault(m.group(1), set()).update(re.findall(r"\bglint_\w+", m.group(2)))
    return links, owner


LINKS, OWNER = cmake_links()


@pytest.mark.parametrize("target", sorted(LINKS))
def test_links_follow_the_graph(target):
    module = OWNER[target]
    for lib in LINKS[target]:
        lib_module = OWNER.get(lib)
        assert lib_module is not None, "%s links unknown %s" % (target, lib)
        assert lib_module == module or lib_module in GRAPH[module], \
            "%s (%s/) links %s (%s/), which the graph does not allow" % (target, module, lib, lib_module)


def closure(target):
    seen, todo = set(), [target]
    while todo:
        for lib in LINKS.get(todo.pop(), ()):
            if lib not in seen:
                seen.add(lib)
                todo.append(lib)
    return seen


@pytest.mark.parametrize("client", ["glint-fs", "glint"])
def test_clients_link_no_server_code(client):
    assert client in LINKS, "%s is not built" % client
    server = closure(client) & SERVER_LIBS
    assert not server, "%s links server libraries: %s" % (client, sorted(server))


def strip_code(text):
    """Comments, string and character literals removed (their braces are not code)."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'R"(\w*)\((.*?)\)\1"', '""', text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"'(\\.|[^'\\\n])'", "' '", text)


NOT_FUNCTION = re.compile(r"\b(namespace|class|struct|enum|union)\b[^;{()]*$|=\s*$|\)\s*:\s*$")


def long_functions(path):
    """(first line, length) of each function body longer than the limit."""
    lines = strip_code(open(path, errors="replace").read()).split("\n")
    stack, found, header = [], [], ""
    for n, line in enumerate(lines, 1):
        for ch in line:
            if ch == "{":
                in_function = any(kind == "fn" for kind, _ in stack)
                kind = "block" if in_function or NOT_FUNCTION.search(header.strip()) else "fn"
                stack.append((kind, n))
                header = ""
            elif ch == "}":
                if stack:
                    kind, start = stack.pop()
                    if kind == "fn" and n - start > MAX_FUNCTION_LINES:
                        found.append((start, n - start))
                header = ""
            elif ch == ";":
                header = ""
            else:
                header += ch
        header += " "
    return found


ALL_SOURCES = [p for m in sorted(GRAPH) for p in sources(m)]


@pytest.mark.parametrize("path", ALL_SOURCES, ids=lambda p: os.path.relpath(p, ROOT))
def test_file_and_function_sizes(path):
    n = sum(1 for _ in open(path, errors="replace"))
    assert n <= MAX_FILE_LINES, "%s has %d lines (limit %d): split it" % (path, n, MAX_FILE_LINES)
    long = long_functions(path)
    assert not long, "%s: functions over %d lines at %s" % (
        os.path.relpath(path, ROOT), MAX_FUNCTION_LINES, ", ".join("line %d (%d lines)" % f for f in long))


CODE_SUFFIXES = (".cc", ".h", ".py", ".sh")


def other_code_files():
    """Code outside the modules (tests, fuzz targets, benches, tools, scripts)."""
    for top in ("tests", "fuzz", "bench", "tools", ".ci"):
        for d, subdirs, files in os.walk(os.path.join(ROOT, top)):
            subdirs[:] = [s for s in subdirs if not s.startswith((".", "__"))]
            for name in files:
                if name.endswith(CODE_SUFFIXES) or top in ("tools", ".ci") and "." not in name:
                    yield os.path.join(d, name)


@pytest.mark.parametrize("path", sorted(other_code_files()), ids=lambda p: os.path.relpath(p, ROOT))
def test_other_code_file_sizes(path):
    n = sum(1 for _ in open(path, errors="replace"))
    assert n <= MAX_FILE_LINES, "%s has %d lines (limit %d): split it" % (
        os.path.relpath(path, ROOT), n, MAX_FILE_LINES)


def test_the_other_files_are_found():
    found = {os.path.relpath(p, ROOT) for p in other_code_files()}
    assert {"tests/structure/test_structure.py", "tools/test.sh", ".ci/run", "bench/bench.py"} <= found


def pyflakes(*paths):
    if importlib.util.find_spec("pyflakes") is None:
        msg = "pyflakes is missing (python3-pyflakes, tools/install-deps.sh --test)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return subprocess.run([sys.executable, "-m", "pyflakes", *paths], cwd=ROOT, capture_output=True, text=True)


def test_the_python_code_is_pyflakes_clean():
    r = pyflakes("tests", "bench", "tools")
    assert r.returncode == 0 and not r.stdout, r.stdout + r.stderr


def test_the_pyflakes_check_can_fail(tmp_path):
    (tmp_path / "bad.py").write_text("import os\n")
    r = pyflakes(str(tmp_path))
    assert r.returncode != 0 and "'os' imported but unused" in r.stdout, r.stdout + r.stderr


def declared_name(statement):
    """The name a namespace-scope declaration introduces (None for macros, using-declarations)."""
    s = re.sub(r"\s+", " ", statement).strip()
    s = re.sub(r"^template ?<[^>]*> ?", "", s)
    m = re.match(r"^(?:struct|class|enum class|enum|union) (\w+)", s) or re.match(r"^using (\w+) ?=", s)
    if m:
        return m.group(1)
    if s.startswith("using ") or s.startswith("static_assert"):
        return None
    m = re.match(r"^[^(=\[{]*?(\w+) ?(?:\(|=|\[|\{|$)", s)
    if not m or m.group(1) == "operator" or re.match(r"^[A-Z][A-Z0-9_]*$", m.group(1)):
        return None  # TEST(...), INSTANTIATE_TEST_SUITE_P(...): macros
    return m.group(1)


def internal_names(path):
    """Names with internal linkage a file declares at namespace scope: everything directly
    inside an anonymous namespace, and `static` functions and variables."""
    code = strip_code(open(path, errors="replace").read())
    code = re.sub(r"^\s*#.*$", "", code, flags=re.M)
    names, scopes, stmt = set(), [], ""  # scopes: "anon", "ns" or "other" per open brace
    for ch in code:
        at_ns_scope = all(s in ("anon", "ns") for s in scopes)
        if ch in "{;":
            head = stmt.strip()
            internal = at_ns_scope and ("anon" in scopes or re.match(r"static\b", head))
            if internal and not re.search(r"\bnamespace\b", head) and declared_name(re.sub(r"^static\s+", "", head)):
                names.add(declared_name(re.sub(r"^static\s+", "", head)))
            if ch == "{":
                m = re.search(r"\bnamespace\s*(\w*)\s*$", head)
                scopes.append(("ns" if m.group(1) else "anon") if m else "other")
            stmt = ""
        elif ch == "}":
            if scopes:
                scopes.pop()
            stmt = ""
        else:
            stmt += ch
    return names


def unity_groups():
    """Sources that may share a unity batch: each module's, and all of tests/."""
    groups = {m: [p for p in sources(m) if p.endswith(".cc")] for m in sorted(GRAPH)}
    groups["tests"] = sorted(os.path.join(d, f) for d, _, files in os.walk(os.path.join(ROOT, "tests"))
                             for f in files if f.endswith(".cc"))
    return groups


@pytest.mark.parametrize("group", sorted(unity_groups()))
def test_no_two_files_of_a_unity_batch_define_the_same_internal_name(group):
    """In a unity build (CMakeLists.txt) a module's files are compiled as one unit, so two
    helpers of the same name in anonymous namespaces would clash, or, as overloads,
    silently call each other."""
    seen = {}
    for path in unity_groups()[group]:
        for name in internal_names(path):
            seen.setdefault(name, []).append(os.path.relpath(path, ROOT))
    clashes = {n: files for n, files in seen.items() if len(files) > 1}
    assert not clashes, "rename or share these helpers: %s" % clashes


def test_the_internal_name_checker_can_fail(tmp_path):
    p = tmp_path / "a.cc"
    p.write_text("namespace glint {\nnamespace {\nconstexpr int kA = 1;\nstd::string Lower(std::string s) {\n"
                 "  return s;\n}\nstruct Row {\n  int x;\n};\nusing Ptr = int*;\nTEST(A, B) {\n}\n}  // namespace\n"
                 "int Public() { return 0; }\nstatic int Hidden(int x) {\n  static int calls = 0;\n  return x + calls;\n}\n"
                 "struct S {\n  static int Member();\n};\n}\n")
    assert internal_names(str(p)) == {"kA", "Lower", "Row", "Ptr", "Hidden"}


def test_the_size_checker_can_fail(tmp_path):
    body = "\n".join("  x += %d;" % i for i in range(MAX_FUNCTION_LINES + 5))
    p = tmp_path / "long.cc"
    p.write_text("namespace a {\nclass C {\n  int F() {\n%s\n  }\n};\nint G() {\n  return 1;\n}\n}\n" % body)
    assert [s for s, _ in long_functions(str(p))] == [3]
