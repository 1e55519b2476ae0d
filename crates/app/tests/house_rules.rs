//! House rules checked over the source tree (issue 12): no string literal of a state, kind or
//! reason outside `domain`, no `== 0` / `!= 0` on a flag, and no import circle among modules.
//! Plain file reading, no build of the code it checks; each failure names the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The tree to check: this workspace, or `HOUSE_RULES_ROOT` (to run the check on another
/// checkout, such as an older main, with today's enum tables).
fn root() -> PathBuf {
    match std::env::var_os("HOUSE_RULES_ROOT") {
        Some(r) => PathBuf::from(r),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }
}

/// Every spelling of every `string_enum!` in `domain::status`, read from its source so a value
/// added there is checked here without touching this file.
fn enum_words() -> BTreeMap<String, String> {
    let src = include_str!("../../domain/src/status.rs");
    let mut words = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        // `Name, "name" {` opens a table; `Variant => "text",` is one of its rows.
        if let Some((name, rest)) = t.split_once(", \"") {
            if rest.ends_with("\" {") && !name.contains(' ') {
                current = Some(name.to_string());
                continue;
            }
        }
        if t == "}" {
            current = None;
        }
        if let (Some(e), Some((_, text))) = (&current, t.split_once(" => \"")) {
            if let Some(text) = text.strip_suffix("\",") {
                words
                    .entry(text.to_string())
                    .or_insert_with(|| e.to_string());
            }
        }
    }
    assert!(
        words.len() > 30,
        "could not read the enum tables of status.rs"
    );
    words
}

/// Flag columns (0/1 in the database, `bool` in Rust).
const FLAGS: &[&str] = &[
    "is_active",
    "allow_custom_names",
    "remote_confirmed",
    "remote_ok",
    "ok",
];

struct Lexed {
    /// (line, contents) of every string literal outside attributes (`#[serde(rename = "..")]`,
    /// `#[utoipa::path(tag = "..")]`) that is not an object key (`"key": value` in `json!`).
    strings: Vec<(usize, String)>,
    /// The code with comments removed and string contents blanked, line by line.
    code: Vec<String>,
}

/// A small Rust lexer: enough to tell strings, chars, lifetimes and comments apart.
fn lex(src: &str) -> Lexed {
    let chars: Vec<char> = src.chars().collect();
    let mut strings = Vec::new();
    let mut code = String::new();
    let mut line = 1;
    let mut i = 0;
    // Bracket depth inside an attribute; 0 outside one.
    let mut attr = 0usize;
    let keep = |attr: usize, end: usize| {
        let mut j = end;
        while chars.get(j).is_some_and(|c| *c == ' ') {
            j += 1;
        }
        let key = chars.get(j) == Some(&':') && chars.get(j + 1) != Some(&':');
        attr == 0 && !key
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                        code.push('\n');
                    }
                    i += 1;
                }
            }
            continue;
        }
        if c == '#' && (next == Some('[') || (next == Some('!') && chars.get(i + 2) == Some(&'[')))
        {
            attr = 1;
            let skip = if next == Some('[') { 2 } else { 3 };
            code.push_str(&chars[i..i + skip].iter().collect::<String>());
            i += skip;
            continue;
        }
        if attr > 0 {
            if c == '[' {
                attr += 1;
            } else if c == ']' {
                attr -= 1;
            }
        }
        // Raw strings: r"..", r#".."#, br"..".
        let raw_start = if c == 'r' && matches!(next, Some('"') | Some('#')) {
            Some(i + 1)
        } else if c == 'b' && next == Some('r') {
            Some(i + 2)
        } else {
            None
        };
        let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if let (Some(mut j), false) = (raw_start, prev_ident) {
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                let start_line = line;
                let mut s = String::new();
                j += 1;
                loop {
                    if j >= chars.len() {
                        break;
                    }
                    if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    if chars[j] == '\n' {
                        line += 1;
                        code.push('\n');
                    }
                    s.push(chars[j]);
                    j += 1;
                }
                if keep(attr, j) {
                    strings.push((start_line, s));
                }
                code.push_str("\"\"");
                i = j;
                continue;
            }
        }
        if c == '"' {
            let start_line = line;
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    // A line continuation (`\` then newline) still ends a source line.
                    if chars.get(i + 1) == Some(&'\n') {
                        line += 1;
                        code.push('\n');
                    } else if let Some(&e) = chars.get(i + 1) {
                        s.push(e);
                    }
                    i += 2;
                    continue;
                }
                if chars[i] == '\n' {
                    line += 1;
                    code.push('\n');
                }
                s.push(chars[i]);
                i += 1;
            }
            if keep(attr, i + 1) {
                strings.push((start_line, s));
            }
            code.push_str("\"\"");
            i += 1;
            continue;
        }
        if c == '\'' {
            // A char literal ('x', '\n', '\''), else a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                code.push_str("' '");
                continue;
            }
            if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                code.push_str("' '");
                continue;
            }
        }
        if c == '\n' {
            line += 1;
        }
        code.push(c);
        i += 1;
    }
    Lexed {
        strings,
        code: code.lines().map(str::to_string).collect(),
    }
}

/// The part of a source file that is not its test module (house style: the test module is last).
fn without_tests(src: &str) -> String {
    let mut out = String::new();
    for l in src.lines() {
        if l.trim() == "#[cfg(test)]" {
            break;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

fn rel(p: &Path) -> String {
    let root = root().canonicalize().unwrap();
    p.canonicalize()
        .unwrap()
        .strip_prefix(&root)
        .unwrap()
        .display()
        .to_string()
}

/// `'word'` inside a SQL string.
fn sql_words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(a) = rest.find('\'') {
        let after = &rest[a + 1..];
        let Some(b) = after.find('\'') else { break };
        out.push(&after[..b]);
        rest = &after[b + 1..];
    }
    out
}

/// String literals of a template expression that are compared (`x == "y"`) or listed
/// (`for s in ["a", "b"]`); a literal passed as an argument (`err("field")`) is a field name.
fn compared_literals(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let mut in_list = 0usize;
    while i < b.len() {
        match b[i] {
            '[' => in_list += 1,
            ']' => in_list = in_list.saturating_sub(1),
            '"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != '"' {
                    i += if b[i] == '\\' { 2 } else { 1 };
                }
                let lit: String = b[start + 1..i.min(b.len())].iter().collect();
                let before: String = b[..start].iter().collect();
                let after: String = b[(i + 1).min(b.len())..].iter().collect();
                let compared = before.trim_end().ends_with("==")
                    || before.trim_end().ends_with("!=")
                    || after.trim_start().starts_with("==")
                    || after.trim_start().starts_with("!=");
                if compared || in_list > 0 {
                    out.push(lit);
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn literal_findings() -> Vec<String> {
    let words = enum_words();
    let mut found = Vec::new();
    let mut sources = Vec::new();
    for c in ["db", "engine", "web"] {
        files(
            &root().join("crates").join(c).join("src"),
            "rs",
            &mut sources,
        );
    }
    for path in &sources {
        let src = without_tests(&fs::read_to_string(path).unwrap());
        let raw: Vec<&str> = src.lines().collect();
        let lexed = lex(&src);
        for (line, s) in &lexed.strings {
            // A name spelled like a state (an API error code, a field) says so on its line.
            if raw
                .get(line - 1)
                .is_some_and(|l| l.contains(", not a state"))
            {
                continue;
            }
            if let Some(e) = words.get(s.as_str()) {
                found.push(format!(
                    "{}:{line}: string literal \"{s}\" (use domain::status::{e})",
                    rel(path)
                ));
            }
            for w in sql_words(s) {
                if let Some(e) = words.get(w) {
                    found.push(format!(
                        "{}:{line}: SQL literal '{w}' (bind domain::status::{e})",
                        rel(path)
                    ));
                }
            }
        }
        for (n, l) in lexed.code.iter().enumerate() {
            for op in ["== 0", "!= 0"] {
                let mut from = 0;
                while let Some(at) = l[from..].find(op) {
                    let at = from + at;
                    from = at + op.len();
                    if l[from..].starts_with(|c: char| c.is_ascii_digit() || c == '.') {
                        continue;
                    }
                    let before = l[..at].trim_end();
                    let ident: String = before
                        .chars()
                        .rev()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    if FLAGS.contains(&ident.as_str()) {
                        found.push(format!(
                            "{}:{}: `{ident} {}` on a flag (decode it as bool)",
                            rel(path),
                            n + 1,
                            op.trim_end_matches(" 0")
                        ));
                    }
                }
            }
        }
    }
    let mut templates = Vec::new();
    files(&root().join("crates/web/templates"), "html", &mut templates);
    for path in &templates {
        let src = fs::read_to_string(path).unwrap();
        for (n, l) in src.lines().enumerate() {
            // Only template expressions: `{% .. %}` and `{{ .. }}`, not HTML attribute values.
            for (open, close) in [("{%", "%}"), ("{{", "}}")] {
                let mut rest = l;
                while let Some(a) = rest.find(open) {
                    let after = &rest[a + 2..];
                    let b = after.find(close).unwrap_or(after.len());
                    let expr = &after[..b];
                    for flag in FLAGS {
                        for op in ["== 0", "!= 0", "== 1", "!= 1"] {
                            if expr.contains(&format!(".{flag} {op}")) {
                                found.push(format!(
                                    "{}:{}: `{flag} {op}` on a flag in a template (it is a bool)",
                                    rel(path),
                                    n + 1
                                ));
                            }
                        }
                    }
                    for s in compared_literals(expr) {
                        if let Some(e) = words.get(s.as_str()) {
                            found.push(format!(
                                "{}:{}: template literal \"{s}\" (compare with domain::status::{e})",
                                rel(path),
                                n + 1
                            ));
                        }
                    }
                    rest = &after[b..];
                }
            }
        }
    }
    found
}

#[test]
fn no_literal_of_a_state_kind_or_reason_and_no_integer_flags() {
    let found = literal_findings();
    assert!(
        found.is_empty(),
        "{} literal(s) of states, kinds and reasons outside domain, or integer flags:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_lexer_tells_strings_from_comments_chars_and_lifetimes() {
    let l = lex("let a = \"active\"; // \"wallet\"\nfn f<'a>(c: char) { c == '\"'; r#\"x \"y\"\"#; }\n/* \"done\" */ \"q 'pending'\" #[serde(rename = \"done\")] json!({\"pending\": 1})");
    let strings: Vec<_> = l.strings.iter().map(|(n, s)| (*n, s.as_str())).collect();
    assert_eq!(strings, [(1, "active"), (2, "x \"y\""), (3, "q 'pending'")]);
    assert_eq!(sql_words("a = 'x' AND b = 'y'"), ["x", "y"]);
    assert_eq!(
        compared_literals("if a == \"done\" && f(\"settings\") || [\"x\", \"y\"].contains(b)"),
        ["done", "x", "y"]
    );
}

/// Modules of one crate (`crate::a::b` as `a::b`) and what each imports with `use crate::`.
fn module_imports(src_dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut paths = Vec::new();
    files(src_dir, "rs", &mut paths);
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &paths {
        let rel = p.strip_prefix(src_dir).unwrap().with_extension("");
        let mut name = rel.display().to_string().replace('/', "::");
        for suffix in ["::mod", "lib", "main"] {
            if let Some(n) = name.strip_suffix(suffix) {
                name = n.trim_end_matches("::").to_string();
            }
        }
        modules.entry(name).or_default();
    }
    for p in &paths {
        let rel = p.strip_prefix(src_dir).unwrap().with_extension("");
        let mut name = rel.display().to_string().replace('/', "::");
        for suffix in ["::mod", "lib", "main"] {
            if let Some(n) = name.strip_suffix(suffix) {
                name = n.trim_end_matches("::").to_string();
            }
        }
        let code = lex(&without_tests(&fs::read_to_string(p).unwrap()))
            .code
            .join("\n");
        // `crate::a::b::{c, d}` anywhere (use lines and full paths alike): the longest known
        // module prefix is the dependency.
        let mut rest = code.as_str();
        let mut deps = BTreeSet::new();
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + 7..];
            let path: String = tail
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            for k in (1..=segs.len()).rev() {
                let m = segs[..k].join("::");
                if modules.contains_key(&m) {
                    if m != name && !name.starts_with(&format!("{m}::")) {
                        deps.insert(m);
                    }
                    break;
                }
            }
            rest = &tail[path.len()..];
        }
        modules.insert(name, deps);
    }
    modules
}

/// A cycle in a directed graph, if any, as the list of its nodes.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for d in graph.get(n).into_iter().flatten() {
            match state.get(d.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|s| s == d).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(d, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

/// Module `a` depends on module `b` also when a submodule of `a` uses `b` or a submodule of it;
/// the graph is folded to one level below the crate root, plus `pages::*` and `api::*` apart.
fn folded(
    graph: &BTreeMap<String, BTreeSet<String>>,
    depth: usize,
) -> BTreeMap<String, BTreeSet<String>> {
    let fold = |m: &str| -> String {
        let segs: Vec<&str> = m.split("::").collect();
        segs[..segs.len().min(depth)].join("::")
    };
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, deps) in graph {
        let f = fold(m);
        let entry = out.entry(f.clone()).or_default();
        for d in deps {
            let fd = fold(d);
            if fd != f && !fd.is_empty() && !f.is_empty() {
                entry.insert(fd);
            }
        }
    }
    out
}

#[test]
fn no_import_circle_among_modules_and_pages_and_api_apart() {
    let mut problems = Vec::new();
    let mut crates = Vec::new();
    for entry in fs::read_dir(root().join("crates")).unwrap().flatten() {
        if entry.path().join("src").is_dir() {
            crates.push(entry.path());
        }
    }
    crates.sort();
    for c in &crates {
        let graph = module_imports(&c.join("src"));
        let name = c.file_name().unwrap().to_string_lossy().to_string();
        // Every file as its own module, then folded to the top-level modules.
        for depth in [usize::MAX, 2, 1] {
            if let Some(cycle) = find_cycle(&folded(&graph, depth)) {
                problems.push(format!("{name}: import circle {}", cycle.join(" -> ")));
                break;
            }
        }
        for (m, deps) in &graph {
            for d in deps {
                let crosses = (m.starts_with("pages") && d.starts_with("api"))
                    || (m.starts_with("api") && d.starts_with("pages"));
                if name == "web" && crosses {
                    problems.push(format!(
                        "web: {m} imports {d} (pages and API share web::views)"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_cycle_finder_finds_a_cycle_and_only_one() {
    let g = |edges: &[(&str, &str)]| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            m.entry(a.to_string()).or_default().insert(b.to_string());
            m.entry(b.to_string()).or_default();
        }
        m
    };
    assert_eq!(find_cycle(&g(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    assert_eq!(
        find_cycle(&g(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
