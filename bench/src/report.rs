//! `latest.json` (the key figures, nested per backend when more than one ran) and
//! `latest.md` (the same beside the targets and anchors, plus the details).

use anyhow::{Context, Result};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// (key, target text, check, backend the target is set for: None = every backend).
type Target = (
    &'static str,
    &'static str,
    fn(&Value) -> Option<bool>,
    Option<&'static str>,
);

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

const TARGETS: [Target; 12] = [
    (
        "login_ratio",
        "≥ 0.9",
        |v| num(v, "login_ratio").map(|x| x >= 0.9),
        None,
    ),
    (
        "signup_ratio",
        "≥ 0.9",
        |v| num(v, "signup_ratio").map(|x| x >= 0.9),
        None,
    ),
    (
        "me_rps",
        "≥ 7,800",
        |v| num(v, "me_rps").map(|x| x >= 7800.0),
        None,
    ),
    (
        "me_p99_ms",
        "< 5",
        |v| num(v, "me_p99_ms").map(|x| x < 5.0),
        None,
    ),
    (
        "storm_login_p99_ms",
        "< 500",
        |v| num(v, "storm_login_p99_ms").map(|x| x < 500.0),
        None,
    ),
    (
        "storm_refused_fast_p99_ms",
        "< 50",
        |v| num(v, "storm_refused_fast_p99_ms").map(|x| x < 50.0),
        None,
    ),
    (
        "storm_me_p99_ms",
        "< 5",
        |v| num(v, "storm_me_p99_ms").map(|x| x < 5.0),
        None,
    ),
    (
        "steps_p99_ms",
        "< 10 at ≥ 300 req/s",
        |v| Some(num(v, "steps_p99_ms")? < 10.0 && num(v, "steps_rps")? >= 300.0 * 0.98),
        None,
    ),
    (
        "tombstone_check_p99_ms",
        "< 2",
        |v| num(v, "tombstone_check_p99_ms").map(|x| x < 2.0),
        None,
    ),
    (
        "purge_per_s",
        "≥ 20,000 (PostgreSQL)",
        |v| num(v, "purge_per_s").map(|x| x >= 20_000.0),
        Some("postgres"),
    ),
    (
        "idle_rss_mb",
        "< 25",
        |v| num(v, "idle_rss_mb").map(|x| x < 25.0),
        None,
    ),
    (
        "load_rss_mb",
        "< 80",
        |v| num(v, "load_rss_mb").map(|x| x < 80.0),
        None,
    ),
];

/// Keys copied into latest.json for each backend (the details stay in the markdown).
const KEYS: [&str; 40] = [
    "argon2_verifies_per_s",
    "argon2_verify_ms",
    "login_per_s",
    "login_ratio",
    "signup_per_s",
    "signup_ratio",
    "me_rps",
    "me_p99_ms",
    "me_best_connections",
    "storm_offered_login_rps",
    "storm_connections",
    "storm_login_per_s",
    "storm_login_p99_ms",
    "storm_refused_per_s",
    "storm_refused_fast_p99_ms",
    "storm_errors",
    "storm_me_rps",
    "storm_me_p99_ms",
    "steps_rps",
    "steps_p99_ms",
    "steps_offered_rps",
    "erase_p50_ms",
    "erase_p99_ms",
    "erasures_per_s",
    "journeys_per_s",
    "tombstone_check_p99_ms",
    "tombstone_query_p99_ms",
    "signup_with_tombstones_per_s",
    "purge_per_s",
    "purge_retained_per_s",
    "idle_rss_mb",
    "load_rss_mb",
    "peak_rss_before_journey_mb",
    "mode",
    "generated_at",
    "loadavg_start",
    "loadavg_end",
    "pressure_start",
    "pressure_end",
    "backend",
];

pub fn write(out_dir: &Path, inputs: &[PathBuf]) -> Result<()> {
    let mut runs = Vec::new();
    for path in inputs {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let v: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        runs.push(v);
    }
    anyhow::ensure!(!runs.is_empty(), "no bench results to report");
    let figures = |v: &Value| -> Value {
        let mut m = Map::new();
        for key in KEYS {
            if let Some(x) = v.get(key) {
                m.insert(key.to_owned(), x.clone());
            }
        }
        m.insert("params".into(), v["params"].clone());
        Value::Object(m)
    };
    let latest = if runs.len() == 1 {
        figures(&runs[0])
    } else {
        let mut m = Map::new();
        for run in &runs {
            let name = run["backend"].as_str().unwrap_or("backend").to_owned();
            m.insert(name, figures(run));
        }
        Value::Object(m)
    };
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(
        out_dir.join("latest.json"),
        serde_json::to_string_pretty(&latest)? + "\n",
    )?;
    std::fs::write(out_dir.join("latest.md"), markdown(&runs))?;
    Ok(())
}

fn fmt(v: &Value) -> String {
    match v {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if x.abs() >= 1000.0 {
                group(x.round() as i64)
            } else {
                n.to_string()
            }
        }
        Value::Null => "–".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn group(n: i64) -> String {
    let digits: Vec<char> = n.abs().to_string().chars().collect();
    let chunks: Vec<String> = digits
        .rchunks(3)
        .rev()
        .map(|c| c.iter().collect())
        .collect();
    let out = chunks.join(",");
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn markdown(runs: &[Value]) -> String {
    let mut md = String::new();
    let first = &runs[0];
    let mode = first["mode"].as_str().unwrap_or("?");
    let _ = writeln!(md, "# offboard benchmark — latest run\n");
    let _ = writeln!(
        md,
        "Generated {} by `bench/run{}` on this machine ({} cores). Mode: **{mode}**. \
         The machine is shared: other work running at the same time lowers every figure; \
         pressure (share of the last minute in which some task waited for CPU / for I/O, \
         from /proc/pressure) at the start of each backend's run: {}.\n",
        first["generated_at"].as_str().unwrap_or("?"),
        if mode == "quick" { " --quick" } else { "" },
        fmt(&first["params"]["cores"]),
        runs.iter()
            .map(|r| format!(
                "{} CPU {} % / I/O {} % (load average {})",
                r["backend"].as_str().unwrap_or("?"),
                fmt(&r["pressure_start"]["cpu_some_avg60"]),
                fmt(&r["pressure_start"]["io_some_avg60"]),
                fmt(&r["loadavg_start"])
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Key figures against the targets.
    let _ = write!(md, "## Key figures and targets\n\n| figure | target |");
    for r in runs {
        let _ = write!(md, " {} |", r["backend"].as_str().unwrap_or("?"));
    }
    let _ = write!(md, "\n|---|---|");
    for _ in runs {
        md.push_str("---|");
    }
    md.push('\n');
    let rows: [(&str, &str); 31] = [
        ("argon2_verifies_per_s", "(the bound, every round pooled)"),
        ("argon2_verify_ms", ""),
        ("login_per_s", ""),
        ("login_ratio", ""),
        ("signup_per_s", ""),
        ("signup_ratio", ""),
        ("me_rps", ""),
        ("me_p99_ms", ""),
        ("storm_offered_login_rps", "(4× the bound)"),
        ("storm_connections", ""),
        ("storm_login_per_s", ""),
        ("storm_login_p99_ms", ""),
        ("storm_refused_per_s", ""),
        ("storm_refused_fast_p99_ms", ""),
        ("storm_errors", ""),
        ("storm_me_rps", "(500 offered)"),
        ("storm_me_p99_ms", ""),
        ("steps_rps", ""),
        ("steps_p99_ms", ""),
        ("erase_p50_ms", "(final step alone)"),
        ("erase_p99_ms", ""),
        ("erasures_per_s", "(closed loop, 4 users)"),
        ("journeys_per_s", ""),
        ("tombstone_check_p99_ms", ""),
        ("tombstone_query_p99_ms", "(store call only)"),
        ("signup_with_tombstones_per_s", ""),
        ("purge_per_s", ""),
        ("purge_retained_per_s", "(per-record delete)"),
        ("idle_rss_mb", ""),
        ("load_rss_mb", ""),
        ("peak_rss_before_journey_mb", "(other scenarios)"),
    ];
    for (key, note) in rows {
        let target = TARGETS.iter().find(|t| t.0 == key);
        let target_text = target.map(|t| t.1).unwrap_or(note);
        let _ = write!(md, "| `{key}` | {target_text} |");
        for r in runs {
            let backend = r["backend"].as_str().unwrap_or("");
            let mark = match target {
                Some((_, _, check, scope)) if scope.is_none_or(|s| s == backend) => {
                    match check(r) {
                        Some(true) => " ✅",
                        Some(false) => " ❌",
                        None => "",
                    }
                }
                _ => "",
            };
            let _ = write!(md, " {}{mark} |", fmt(&r[key]));
        }
        md.push('\n');
    }
    md.push_str(
        "\n✅/❌: target met or missed, only where the issue sets the target for that backend.\n\n",
    );
    md.push_str(ANCHORS);
    for r in runs {
        backend_details(&mut md, r);
    }
    md.push_str(METHOD);
    md
}

const ANCHORS: &str = "## Anchors (from issue 9)\n\n\
| system | figure |\n|---|---|\n\
| Keycloak (sizing guide) | 1 vCPU per 15 password logins/s; 1,250 MB per instance |\n\
| Zitadel (published benchmark) | 39 logins/s on several 6-vCPU containers |\n\
| Ory Kratos (bcrypt cost 12) | ≈ 240 ms per verify |\n\
| better-auth (Node, SQLite), this machine kind | 17.8 sign-ins/s, 8.4 sign-ups/s, 780 req/s p99 37 ms session check, 88 MB idle |\n\
| Vaultwarden (Rust, SQLite, PBKDF2 600k), this machine kind | 16.7 logins/s, 3,062 req/s p99 12.5 ms profile read, 29 MB idle, 53 MB peak |\n\n";

fn backend_details(md: &mut String, r: &Value) {
    let b = r["backend"].as_str().unwrap_or("?");
    let d = &r["details"];
    let p = &r["params"];
    let _ = writeln!(md, "## Details: {b}\n");
    let _ = writeln!(
        md,
        "Durations (s): {}. Users: {} (sign-up, login), {} (journeys), {} (paced steps).\n",
        p["seconds"]
            .as_object()
            .map(|m| m
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default(),
        fmt(&p["users"]),
        fmt(&p["journey_users"]),
        fmt(&p["steps_users"]),
    );
    let _ = writeln!(
        md,
        "| scenario | done | per s | p50 ms | p99 ms | errors | server CPU s | bench CPU s |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    let mut scenario = |name: &str, s: &Value, lat: &str| {
        let l = &s["latency"][lat];
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            fmt(&s["completed"]),
            fmt(&s["per_s"]),
            fmt(&l["p50_ms"]),
            fmt(&l["p99_ms"]),
            fmt(&s["errors"]),
            fmt(&s["cpu"]["server_cpu_s"]),
            fmt(&s["cpu"]["bench_cpu_s"]),
        );
    };
    scenario("sign-up (all rounds)", &d["signup"], "signup");
    scenario("login (all rounds)", &d["login"], "login");
    scenario("journey steps (paced)", &d["steps"], "step_identity");
    scenario("erasure (final step alone)", &d["erasure"], "erase");
    scenario("complete journeys", &d["journey"], "journey");
    scenario(
        "sign-up of tombstoned emails (403)",
        &d["tombstones"]["refused_signups"],
        "signup_refused",
    );
    scenario(
        "sign-up beside the tombstones",
        &d["tombstones"]["signups_beside_tombstones"],
        "signup",
    );
    md.push_str("\n(For the paced steps the p50/p99 columns show the final step; all four steps together are below.)\n\n");
    rounds_table(md, d);

    let _ = writeln!(
        md,
        "**GET /api/v1/me**, closed loop, one session per connection:\n"
    );
    let _ = writeln!(
        md,
        "| connections | req/s | p50 ms | p99 ms | errors | server CPU s | bench CPU s |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for level in d["me"].as_array().into_iter().flatten() {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            fmt(&level["connections"]),
            fmt(&level["rps"]),
            fmt(&level["p50_ms"]),
            fmt(&level["p99_ms"]),
            fmt(&level["errors"]),
            fmt(&level["cpu"]["server_cpu_s"]),
            fmt(&level["cpu"]["bench_cpu_s"]),
        );
    }
    let s = &d["steps"];
    storm_text(md, &d["storm"]);
    let _ = writeln!(
        md,
        "\n**Journey steps without password hashing** (confirm with a pre-solved captcha, email code, verify, ID number; {} flows prepared untimed, {} deleted): offered {} req/s, achieved {} req/s, p50 {} ms, p99 {} ms, max {} ms.\n",
        fmt(&s["flows_prepared"]),
        fmt(&s["flows_deleted"]),
        fmt(&s["offered_rps"]),
        fmt(&s["steps_rps"]),
        fmt(&s["steps"]["p50_ms"]),
        fmt(&s["steps"]["p99_ms"]),
        fmt(&s["steps"]["max_ms"]),
    );
    latency_table(md, &s["latency"]);

    erasure_text(md, &d["erasure"]);
    let j = &d["journey"];
    let _ = writeln!(
        md,
        "\n**Complete journeys**: {} journeys/s; a journey takes p50 {} ms, p99 {} ms; server peak RSS {} MiB (VmHWM reset before: {}; sampled max {} MiB). Per request:\n",
        fmt(&j["journeys_per_s"]),
        fmt(&j["journey"]["p50_ms"]),
        fmt(&j["journey"]["p99_ms"]),
        fmt(&j["load_rss_mb"]),
        fmt(&j["peak_reset"]),
        fmt(&j["sampled_max_rss_mb"]),
    );
    latency_table(md, &j["latency"]);

    let t = &d["tombstones"];
    let _ = writeln!(
        md,
        "\n**Tombstones**: {} seeded ({}; hashing {} s, insert {} s). Sign-ups of tombstoned emails answer 403 with p99 {} ms over HTTP; `Store::tombstone_blocks` alone p99 {} ms over {} probes (half seeded, {} blocked).\n",
        fmt(&t["seed"]["rows"]),
        fmt(&t["seed"]["method"]),
        fmt(&t["seed"]["hashing_s"]),
        fmt(&t["seed"]["insert_s"]),
        fmt(&r["tombstone_check_p99_ms"]),
        fmt(&t["store_probe"]["p99_ms"]),
        fmt(&t["store_probe"]["count"]),
        fmt(&t["store_probe_blocked"]),
    );
    let pg = &d["purge"];
    let _ = writeln!(
        md,
        "**Purge** (`Store::purge_expired` with a clock past the due time): {} tombstones in {} s = {} /s; then {} retained records (seeded in {} s) with their keys in {} s = {} /s.\n",
        fmt(&pg["tombstones"]["tombstones"]),
        fmt(&pg["tombstones"]["seconds"]),
        fmt(&pg["tombstones"]["per_s"]),
        fmt(&pg["retained"]["retained_records"]),
        fmt(&pg["retained_seed_s"]),
        fmt(&pg["retained"]["seconds"]),
        fmt(&pg["retained"]["per_s"]),
    );
    let mut errors = Vec::new();
    for (name, s) in [
        ("signup", &d["signup"]),
        ("login", &d["login"]),
        ("storm", &d["storm"]),
        ("storm /me", &d["storm"]["me"]),
        ("steps", &d["steps"]),
        ("erasure", &d["erasure"]),
        ("journey", &d["journey"]),
        ("refused sign-ups", &t["refused_signups"]),
    ] {
        for e in s["error_samples"].as_array().into_iter().flatten() {
            errors.push(format!("- {name}: {}", e.as_str().unwrap_or("?")));
        }
    }
    if !errors.is_empty() {
        let _ = writeln!(md, "Error samples:\n\n{}\n", errors.join("\n"));
    }
}

/// Each round of sign-ups and of logins beside the bound measured right before it.
fn rounds_table(md: &mut String, d: &Value) {
    let _ = writeln!(
        md,
        "**Sign-ups and logins in rounds with the argon2id bound** (the ratio reported is the median round's):\n"
    );
    let _ = writeln!(
        md,
        "| work | round | bound verifies/s | s | done | per s | ratio |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for (name, key) in [("sign-up", "signup"), ("login", "login")] {
        let w = &d[key];
        for (i, r) in w["rounds"].as_array().into_iter().flatten().enumerate() {
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {} | {} | {} |",
                i + 1,
                fmt(&r["bound_verifies_per_s"]),
                fmt(&r["seconds"]),
                fmt(&r["completed"]),
                fmt(&r["per_s"]),
                fmt(&r["ratio"]),
            );
        }
        let _ = writeln!(
            md,
            "| {name} | median | {} (pooled) | {} | {} | {} | **{}** (pooled {}) |",
            fmt(&w["bound"]["verifies_per_s"]),
            fmt(&w["seconds"]),
            fmt(&w["completed"]),
            fmt(&w["per_s"]),
            fmt(&w["ratio"]),
            fmt(&w["pooled_ratio"]),
        );
    }
    md.push('\n');
}

/// The login storm: what was offered, how each login ended, /me beside it.
fn storm_text(md: &mut String, s: &Value) {
    let by_status = s["errors_by_status"]
        .as_object()
        .filter(|m| !m.is_empty())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}: {}", fmt(v)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "none".into());
    let _ = writeln!(
        md,
        "**Login storm**: {} logins/s offered for {} s over {} connections ({} accounts, an address per login); {} due, {} sent, {} still waiting for a connection when the drain ended. Over {} s: {} signed in ({} /s, p50 {} ms, p99 {} ms), {} refused with 503 + Retry-After ({} /s, p50 {} ms, p99 {} ms), errors {} ({by_status}). `/me` beside it: {} req/s offered over {} connections, {} req/s achieved, p50 {} ms, p99 {} ms, {} errors. Latencies count from each request's due time.\n",
        fmt(&s["offered_login_rps"]),
        fmt(&s["window_s"]),
        fmt(&s["connections"]),
        fmt(&s["accounts"]),
        fmt(&s["offered"]),
        fmt(&s["sent"]),
        fmt(&s["unsent"]),
        fmt(&s["seconds"]),
        fmt(&s["login"]["count"]),
        fmt(&s["login"]["per_s"]),
        fmt(&s["login"]["p50_ms"]),
        fmt(&s["login"]["p99_ms"]),
        fmt(&s["refused"]["count"]),
        fmt(&s["refused"]["per_s"]),
        fmt(&s["refused"]["p50_ms"]),
        fmt(&s["refused"]["p99_ms"]),
        fmt(&s["errors"]),
        fmt(&s["me"]["offered_rps"]),
        fmt(&s["me"]["connections"]),
        fmt(&s["me"]["rps"]),
        fmt(&s["me"]["latency"]["p50_ms"]),
        fmt(&s["me"]["latency"]["p99_ms"]),
        fmt(&s["me"]["errors"]),
    );
}

/// The final step alone.
fn erasure_text(md: &mut String, e: &Value) {
    let _ = writeln!(
        md,
        "\n**Erasure, the final step alone** ({} flows walked to the identity step untimed in {} s, {} could not be; then closed loop, {} users): {} erased, {} /s, p50 {} ms, p90 {} ms, p99 {} ms, max {} ms, {} errors.\n",
        fmt(&e["flows_prepared"]),
        fmt(&e["prepare_s"]),
        fmt(&e["prepare_errors"]),
        fmt(&e["users"]),
        fmt(&e["completed"]),
        fmt(&e["erasures_per_s"]),
        fmt(&e["erase"]["p50_ms"]),
        fmt(&e["erase"]["p90_ms"]),
        fmt(&e["erase"]["p99_ms"]),
        fmt(&e["erase"]["max_ms"]),
        fmt(&e["errors"]),
    );
}

fn latency_table(md: &mut String, latency: &Value) {
    let _ = writeln!(
        md,
        "| request | count | p50 ms | p90 ms | p99 ms | max ms |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (name, s) in latency.as_object().into_iter().flatten() {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} |",
            fmt(&s["count"]),
            fmt(&s["p50_ms"]),
            fmt(&s["p90_ms"]),
            fmt(&s["p99_ms"]),
            fmt(&s["max_ms"]),
        );
    }
}

const METHOD: &str = "## How these figures are made\n\n\
- `bench/run` builds release binaries, starts `offboard serve` on a loopback port in dev \
mode (dev outbox, admin token and blind-index key from `OFFBOARD_*` settings, \
`trust_forwarded_for = true`), waits for `/readyz`, runs `offboard-bench run`, stops the \
server. PostgreSQL runs use a temporary database on 127.0.0.1:5432, dropped afterwards.\n\
- Each virtual user sends its own loopback client address in `X-Forwarded-For`, and login \
users never share an account, so the login throttle (which counts an attempt in flight as \
a failure until it succeeds) never engages. Production defaults are untouched.\n\
- `argon2_verifies_per_s`: offboard-core's `PasswordHasher` (the server's parameters, \
memory reused) verifying on every core at once, with the server idle. It is measured in \
rounds interleaved with the work: (bound 1 s, sign-ups 1.5 s) × 3, then (bound 1 s, \
logins 1.5 s) × 3 (full: 2.5 s of work, 6 rounds), so one busy minute on the shared \
machine lowers both sides of the rounds it falls in instead of faking or hiding a ratio. \
Each round's ratio is its work per second ÷ the bound measured right before it; \
`login_ratio` and `signup_ratio` are the median round's (the pooled ratio, all work over \
all its time ÷ the bound pooled over the same rounds, and every round are in the \
details). `argon2_verifies_per_s` is the bound pooled over every round.\n\
- Login storm (after `/me`): correct-password logins of existing accounts offered \
open-loop at 4× `argon2_verifies_per_s` for 5 s (full: 15 s) over 256 keep-alive \
HTTP/1.1 connections, each login with a client address of its own and an account with no \
other login in flight (so no throttle engages), while `/me` is paced at 500 req/s over 8 \
connections with existing sessions. Latencies count from each request's due time: a login \
due while all 256 connections are busy waits for one, and the wait counts. Logins still \
waiting 5 s (full: 15 s) after the window are not sent (`unsent` in the details). 200 → \
`storm_login_*`; 503 `unavailable` with `Retry-After` → `storm_refused_*` (the bounded \
hash queue refusing fast); anything else → `storm_errors`. Rates divide by the time from \
the first due login to the last answer.\n\
- Erasure: flows walked (untimed) to the identity step (40 quick, 160 full), then only \
the final step (the ID number, whose answer is the erasure transaction) closed-loop with \
4 users: `erase_p50_ms`, `erase_p99_ms`, `erasures_per_s`.\n\
- `idle_rss_mb`: VmRSS one second after `/readyz`. `load_rss_mb`: VmHWM of the server \
after the complete-journey scenario, reset (`clear_refs`) just before it. PostgreSQL's \
own processes are not counted.\n\
- `tombstone_check_p99_ms`: sign-ups of tombstoned emails, refused with 403 \
`reregistration_blocked` (parse, keyed hash, indexed lookup, error answer), 2 users, over \
HTTP. `tombstone_query_p99_ms`: the store call alone.\n\
- The load generator runs on the same 2 cores as the server (and PostgreSQL): its own CPU \
time is shown per scenario.\n";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(1_000_000), "1,000,000");
        assert_eq!(group(999), "999");
        assert_eq!(fmt(&json!(20000.0)), "20,000");
        assert_eq!(fmt(&json!(12.5)), "12.5");
        assert_eq!(fmt(&json!(32656.9)), "32,657");
    }
}
