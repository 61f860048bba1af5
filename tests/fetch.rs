//! `handover artifacts fetch` against a small HTTP server on 127.0.0.1 that this test starts. It is
//! written here rather than borrowed (`python3 -m http.server` answers a Range request with 200 and the
//! whole body) so that it can honour ranges, ignore them on purpose, cut a body short, stall, and act
//! as a forward proxy.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::support::{s, Handover};

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deterministic bytes that do not repeat within a file.
fn body(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// What a path serves.
#[derive(Clone)]
enum Route {
    /// Honours `Range: bytes=N-` with 206.
    File(Vec<u8>),
    /// Ignores Range: always 200 and the whole body.
    NoRange(Vec<u8>),
    /// The first request without a Range gets half of the body and the connection closes; later
    /// requests are served like `File`.
    CutOnce(Vec<u8>, Arc<AtomicUsize>),
    /// Headers and a first chunk, then nothing for longer than the client's read timeout.
    Stall(Vec<u8>),
    /// No length, and bytes without end until the client hangs up.
    Endless,
    /// The whole body announced, then one byte every 200 ms: never slow enough for a read timeout.
    Drip(Vec<u8>),
}

struct Server {
    port: u16,
    /// Request line and Range header of every request, in arrival order.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(routes: BTreeMap<&str, Route>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let routes: Arc<BTreeMap<String, Route>> = Arc::new(
            routes
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        );
        let l = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (routes, log) = (routes.clone(), l.clone());
                std::thread::spawn(move || {
                    let _ = handle(conn, &routes, &log);
                });
            }
        });
        Server { port, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn handle(
    conn: TcpStream,
    routes: &BTreeMap<String, Route>,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        let request = request.trim_end().to_string();
        let mut range = None;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some(v) = h
                .strip_prefix("Range: ")
                .or_else(|| h.strip_prefix("range: "))
            {
                range = v
                    .strip_prefix("bytes=")
                    .and_then(|v| v.strip_suffix('-'))
                    .and_then(|v| v.parse::<usize>().ok());
            }
        }
        log.lock()
            .unwrap()
            .push(format!("{request} range={range:?}"));
        // A proxy asked to tunnel: agree, and serve the tunnelled requests on this connection.
        if request.starts_with("CONNECT ") {
            write!(conn, "HTTP/1.1 200 Connection established\r\n\r\n")?;
            conn.flush()?;
            continue;
        }
        // A forward proxy receives the absolute URI; serve it by its path.
        let target = request.split(' ').nth(1).unwrap_or("/");
        let path = match target.strip_prefix("http://") {
            Some(rest) => &rest[rest.find('/').unwrap_or(rest.len())..],
            None => target,
        };
        let Some(route) = routes.get(path) else {
            write!(
                conn,
                "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"
            )?;
            continue;
        };
        match route {
            Route::File(b) => send(&mut conn, b, range)?,
            Route::NoRange(b) => send(&mut conn, b, None)?,
            Route::CutOnce(b, n) => {
                if range.is_none() && n.fetch_add(1, Ordering::SeqCst) == 0 {
                    write!(
                        conn,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                        b.len()
                    )?;
                    conn.write_all(&b[..b.len() / 2])?;
                    conn.flush()?;
                    return Ok(());
                }
                send(&mut conn, b, range)?
            }
            Route::Stall(b) => {
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    b.len()
                )?;
                conn.write_all(&b[..1000])?;
                conn.flush()?;
                std::thread::sleep(Duration::from_secs(4));
                return Ok(());
            }
            Route::Endless => {
                write!(conn, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
                let chunk = body(12, 64 * 1024);
                loop {
                    conn.write_all(&chunk)?;
                }
            }
            Route::Drip(b) => {
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    b.len()
                )?;
                for byte in b {
                    conn.write_all(&[*byte])?;
                    conn.flush()?;
                    std::thread::sleep(Duration::from_millis(200));
                }
                return Ok(());
            }
        }
    }
}

fn send(conn: &mut TcpStream, b: &[u8], range: Option<usize>) -> std::io::Result<()> {
    match range {
        Some(from) if from < b.len() => {
            write!(
                conn,
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{}\r\n\r\n",
                b.len() - from,
                b.len() - 1,
                b.len()
            )?;
            conn.write_all(&b[from..])?;
        }
        Some(_) => write!(
            conn,
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\n\r\n"
        )?,
        None => {
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                b.len()
            )?;
            conn.write_all(b)?;
        }
    }
    conn.flush()
}

fn site_with(dir: &Path, artifacts: &[(&str, String, String)]) -> PathBuf {
    let mut text = String::from("# artifacts of the fetch tests\n");
    for (name, url, sum) in artifacts {
        text += &format!("[artifacts.{name}]\nurl = \"{url}\"\nsha256 = \"{sum}\"\n");
    }
    let path = dir.join("site.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn fetch(site: &Path, cache: &Path, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["artifacts", "fetch", "--site", s(site), "--cache", s(cache)];
    args.extend_from_slice(extra);
    let mut h = Handover::new(&args);
    for v in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        h = h.env_remove(v);
    }
    h.run()
}

fn cached(cache: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(cache.join("sha256"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no line for {name} in\n{out}"))
}

#[test]
fn good_wrong_missing_short_and_stalled_downloads_each_report_and_none_stops_the_others() {
    let good = body(1, 300_000);
    let other = body(2, 300_000);
    let short = body(3, 200_000);
    let stall = body(4, 50_000);
    let server = Server::start(BTreeMap::from([
        ("/good.bin", Route::File(good.clone())),
        ("/wrong.bin", Route::File(other)),
        ("/short.bin", Route::CutOnce(short.clone(), Arc::default())),
        ("/stall.bin", Route::Stall(stall.clone())),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let site = site_with(
        dir.path(),
        &[
            ("good", server.url("/good.bin"), sha(&good)),
            (
                "wrong",
                server.url("/wrong.bin"),
                sha(b"what the vendor published"),
            ),
            ("missing", server.url("/missing.bin"), sha(b"x")),
            ("short", server.url("/short.bin"), sha(&short)),
            ("stall", server.url("/stall.bin"), sha(&stall)),
        ],
    );
    let cache = dir.path().join("cache");
    let run = fetch(
        &site,
        &cache,
        &["--retries", "0", "--timeout", "1", "--jobs", "5"],
    );
    run.expect_code(1);
    let out = run.stdout();
    assert!(line(&out, "good").starts_with("fetched"), "{out}");
    let wrong = line(&out, "wrong");
    assert!(
        wrong.starts_with("FAILED")
            && wrong.contains(&server.url("/wrong.bin"))
            && wrong.contains("sha256 mismatch")
            && wrong.contains(&sha(b"what the vendor published")),
        "{wrong}"
    );
    let missing = line(&out, "missing");
    assert!(
        missing.contains("HTTP 404") && missing.contains(&server.url("/missing.bin")),
        "{missing}"
    );
    let short_line = line(&out, "short");
    assert!(
        short_line.contains("cut short") && short_line.contains("100000 of 200000"),
        "{short_line}"
    );
    let stall_line = line(&out, "stall");
    assert!(stall_line.contains("stalled"), "{stall_line}");
    // Only the good download looks valid in the cache; the others left nothing under a hash name.
    assert_eq!(cached(&cache), vec![sha(&good)]);
    assert_eq!(
        std::fs::read(cache.join("sha256").join(sha(&good))).unwrap(),
        good
    );
    assert!(!cache
        .join("partial")
        .join(format!("{}.part", sha(&good)))
        .exists());
    // A second run finds the good one cached (hash checked) and asks the server nothing for it.
    let before = server.log().len();
    let run = fetch(&site, &cache, &["--retries", "0", "--timeout", "1"]);
    assert!(line(&run.stdout(), "good").starts_with("cached"));
    assert!(!server.log()[before..]
        .iter()
        .any(|l| l.contains("/good.bin")));
}

#[test]
fn an_interrupted_download_resumes_with_a_range_request() {
    let data = body(5, 400_000);
    let server = Server::start(BTreeMap::from([(
        "/agent.run",
        Route::CutOnce(data.clone(), Arc::default()),
    )]));
    let dir = tempfile::tempdir().unwrap();
    let site = site_with(
        dir.path(),
        &[("agent", server.url("/agent.run"), sha(&data))],
    );
    let cache = dir.path().join("cache");
    // The first run is cut off half-way and, with no retries, keeps what it got.
    let run = fetch(&site, &cache, &["--retries", "0"]);
    run.expect_code(1);
    let part = cache.join("partial").join(format!("{}.part", sha(&data)));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 200_000);
    assert!(cached(&cache).is_empty());
    // The next run asks only for the rest.
    let run = fetch(&site, &cache, &["--retries", "0"]);
    run.expect_code(0);
    assert!(
        line(&run.stdout(), "agent").contains("resumed at 200000 bytes"),
        "{}",
        run.stdout()
    );
    assert!(
        server
            .log()
            .iter()
            .any(|l| l.contains("range=Some(200000)")),
        "{:?}",
        server.log()
    );
    assert_eq!(
        std::fs::read(cache.join("sha256").join(sha(&data))).unwrap(),
        data
    );
    assert!(!part.exists());
}

#[test]
fn a_retry_within_one_run_resumes_too() {
    let data = body(6, 100_000);
    let server = Server::start(BTreeMap::from([(
        "/a.msi",
        Route::CutOnce(data.clone(), Arc::default()),
    )]));
    let dir = tempfile::tempdir().unwrap();
    let site = site_with(dir.path(), &[("a", server.url("/a.msi"), sha(&data))]);
    let cache = dir.path().join("cache");
    let run = fetch(&site, &cache, &["--retries", "1"]);
    run.expect_code(0);
    assert!(
        line(&run.stdout(), "a").contains("2 attempts"),
        "{}",
        run.stdout()
    );
    assert!(run.stderr().contains("retrying in"), "{}", run.stderr());
    assert!(server.log().iter().any(|l| l.contains("range=Some(50000)")));
}

#[test]
fn a_server_that_ignores_range_makes_the_client_start_over_cleanly() {
    let data = body(7, 120_000);
    let server = Server::start(BTreeMap::from([(
        "/setup.exe",
        Route::NoRange(data.clone()),
    )]));
    let dir = tempfile::tempdir().unwrap();
    let site = site_with(
        dir.path(),
        &[("setup", server.url("/setup.exe"), sha(&data))],
    );
    let cache = dir.path().join("cache");
    // A partial download from an earlier run, whose first half is even wrong.
    std::fs::create_dir_all(cache.join("partial")).unwrap();
    std::fs::write(
        cache.join("partial").join(format!("{}.part", sha(&data))),
        body(99, 60_000),
    )
    .unwrap();
    let run = fetch(&site, &cache, &["--retries", "0"]);
    run.expect_code(0);
    assert!(server.log().iter().any(|l| l.contains("range=Some(60000)")));
    assert_eq!(
        std::fs::read(cache.join("sha256").join(sha(&data))).unwrap(),
        data
    );
}

#[test]
fn a_directory_artifact_is_fetched_file_by_file_and_then_verifies() {
    let a = body(8, 10_000);
    let b = body(9, 20_000);
    let server = Server::start(BTreeMap::from([
        ("/office/Office/Data/v64.cab", Route::File(a.clone())),
        (
            "/office/Office/Data/16.0%201/s64.cab",
            Route::File(b.clone()),
        ),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.toml");
    std::fs::write(
        &site,
        format!(
            "[artifacts.office-source]\nurl = \"{}\"\n[artifacts.office-source.files]\n\"Office/Data/v64.cab\" = \"{}\"\n\"Office/Data/16.0 1/s64.cab\" = \"{}\"\n",
            server.url("/office/"),
            sha(&a),
            sha(&b)
        ),
    )
    .unwrap();
    let cache = dir.path().join("cache");
    let run = fetch(&site, &cache, &[]);
    run.expect_code(0);
    assert!(run.stdout().contains("office-source: Office/Data/v64.cab"));
    let mut want = vec![sha(&a), sha(&b)];
    want.sort();
    assert_eq!(cached(&cache), want);
    Handover::new(&[
        "artifacts",
        "verify",
        "--site",
        s(&site),
        "--cache",
        s(&cache),
    ])
    .run()
    .expect_code(0);
    std::fs::write(cache.join("sha256").join(sha(&b)), &a).unwrap();
    let run = Handover::new(&[
        "artifacts",
        "verify",
        "--site",
        s(&site),
        "--cache",
        s(&cache),
    ])
    .run();
    run.expect_code(1);
    assert!(
        run.stdout().contains("MISMATCH  office-source"),
        "{}",
        run.stdout()
    );
}

#[test]
fn downloads_go_through_the_proxy_the_environment_names() {
    let data = body(10, 5_000);
    let server = Server::start(BTreeMap::from([(
        "/proxied.bin",
        Route::File(data.clone()),
    )]));
    let dir = tempfile::tempdir().unwrap();
    // A name that cannot resolve: only the proxy can answer it.
    let site = site_with(
        dir.path(),
        &[(
            "p",
            "http://handover-test.invalid/proxied.bin".to_string(),
            sha(&data),
        )],
    );
    let cache = dir.path().join("cache");
    let run = Handover::new(&[
        "artifacts",
        "fetch",
        "--site",
        s(&site),
        "--cache",
        s(&cache),
        "--retries",
        "0",
    ])
    .env_remove("ALL_PROXY")
    .env_remove("all_proxy")
    .env_remove("NO_PROXY")
    .env_remove("no_proxy")
    .env("HTTPS_PROXY", &format!("http://127.0.0.1:{}", server.port))
    .run();
    run.expect_code(0);
    assert!(
        server
            .log()
            .iter()
            .any(|l| l.starts_with("CONNECT handover-test.invalid:80 ")),
        "{:?}",
        server.log()
    );
}

/// Kills the child when dropped.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn https_is_verified_against_the_trust_store_openssl_uses() {
    // native-tls on Linux is OpenSSL with its default verify paths, so a CA the institution installs
    // (played here by SSL_CERT_FILE, which OpenSSL reads for its default store) is trusted, and a
    // server it does not vouch for is refused.
    if !crate::support::have("openssl") {
        eprintln!("SKIPPED: openssl is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    self_signed_cert(d);
    let data = body(11, 70_000);
    std::fs::create_dir_all(d.join("www")).unwrap();
    std::fs::write(d.join("www/agent.bin"), &data).unwrap();
    let (_server, port) = s_server(d, "-WWW");
    let site = site_with(
        d,
        &[(
            "agent",
            format!("https://127.0.0.1:{port}/agent.bin"),
            sha(&data),
        )],
    );
    let run_with = |cache: &Path, ca: Option<&Path>| {
        let mut h = Handover::new(&[
            "artifacts",
            "fetch",
            "--site",
            s(&site),
            "--cache",
            s(cache),
            "--retries",
            "0",
        ]);
        for v in [
            "ALL_PROXY",
            "all_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
        ] {
            h = h.env_remove(v);
        }
        if let Some(ca) = ca {
            h = h.env("SSL_CERT_FILE", s(ca));
        }
        h.run()
    };
    let refused = run_with(&d.join("cache1"), None);
    refused.expect_code(1);
    assert!(
        line(&refused.stdout(), "agent").contains("FAILED")
            && refused.stdout().contains("certificate"),
        "{}",
        refused.stdout()
    );
    assert!(cached(&d.join("cache1")).is_empty());
    let trusted = run_with(&d.join("cache2"), Some(&d.join("cert.pem")));
    trusted.expect_code(0);
    assert_eq!(cached(&d.join("cache2")), vec![sha(&data)]);
}

/// F10 (../shared/reviews/security-2026-12.md): a `partial/<sha>.part` planted as a link to a
/// root-only file made root read it (its size went out in `Range`), truncate it and write the server's
/// bytes into it. Now the link is refused, its target is neither read nor written, and the server is
/// never asked.
#[cfg(unix)]
#[test]
fn f10_a_symlinked_partial_download_is_refused_and_its_target_untouched() {
    let data = body(13, 5_000);
    let server = Server::start(BTreeMap::from([(
        "/agent.run",
        Route::NoRange(data.clone()),
    )]));
    let dir = tempfile::tempdir().unwrap();
    let site = site_with(
        dir.path(),
        &[("agent", server.url("/agent.run"), sha(&data))],
    );
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(cache.join("partial")).unwrap();
    let victim = dir.path().join("victim-root.txt");
    std::fs::write(&victim, b"root-only configuration\n").unwrap();
    let part = cache.join("partial").join(format!("{}.part", sha(&data)));
    std::os::unix::fs::symlink(&victim, &part).unwrap();
    let run = fetch(&site, &cache, &["--retries", "0"]);
    run.expect_code(1);
    let out = run.stdout();
    let l = line(&out, "agent");
    assert!(
        l.starts_with("FAILED") && l.contains("symbolic link"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"root-only configuration\n"
    );
    assert!(server.log().is_empty(), "{:?}", server.log());
    assert!(cached(&cache).is_empty());
    // A FIFO, or a hard link to someone's file, is refused the same way, and nothing hangs.
    std::fs::remove_file(&part).unwrap();
    std::fs::hard_link(&victim, &part).unwrap();
    let run = fetch(&site, &cache, &["--retries", "0"]);
    assert!(
        line(&run.stdout(), "agent").contains("hard link"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"root-only configuration\n"
    );
    std::fs::remove_file(&part).unwrap();
    let ok = std::process::Command::new("mkfifo").arg(&part).status();
    if ok.is_ok_and(|s| s.success()) {
        let run = fetch(&site, &cache, &["--retries", "0"]);
        assert!(
            line(&run.stdout(), "agent").contains("not a regular file"),
            "{}",
            run.stdout()
        );
        std::fs::remove_file(&part).unwrap();
    }
    // Once the planted file is gone, the download goes through, into a cache only its owner can open.
    let run = fetch(&site, &cache, &["--retries", "0"]);
    run.expect_code(0);
    assert_eq!(cached(&cache), vec![sha(&data)]);
    use std::os::unix::fs::PermissionsExt;
    for d in [&cache, &cache.join("partial"), &cache.join("sha256")] {
        let mode = std::fs::metadata(d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
}

/// F10: a cache others can write (where they could plant such links) is refused before it is used,
/// and so is a `partial/` that is a link.
#[cfg(unix)]
#[test]
fn f10_a_download_cache_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let data = body(14, 1_000);
    let server = Server::start(BTreeMap::from([("/a.bin", Route::File(data.clone()))]));
    let dir = tempfile::tempdir().unwrap();
    let site = site_with(dir.path(), &[("a", server.url("/a.bin"), sha(&data))]);
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = fetch(&site, &cache, &["--retries", "0"]);
    run.expect_code(1);
    assert!(
        line(&run.stdout(), "a").contains("writable by group or others"),
        "{}",
        run.stdout()
    );
    assert!(server.log().is_empty());
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, cache.join("partial")).unwrap();
    let run = fetch(&site, &cache, &["--retries", "0"]);
    run.expect_code(1);
    assert!(
        line(&run.stdout(), "a").contains("not a directory"),
        "{}",
        run.stdout()
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

fn lib_options() -> handover::artifacts::fetch::Options {
    handover::artifacts::fetch::Options {
        jobs: 2,
        retries: 0,
        backoff: Duration::from_millis(10),
        read_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        progress: false,
        ..Default::default()
    }
}

fn job(name: &str, url: String, sha256: String) -> handover::artifacts::fetch::Job {
    handover::artifacts::fetch::Job {
        artifact: name.into(),
        part: String::new(),
        url,
        sha256,
    }
}

/// F11: 200 MiB were written for an artifact pinned to 5 bytes, and an endless body filled the disk.
/// Now a download stops writing at its cap, whether the server announces a length or not.
#[test]
fn f11_a_body_larger_than_the_cap_is_cut_off() {
    let big = body(15, 300_000);
    let server = Server::start(BTreeMap::from([
        ("/endless", Route::Endless),
        ("/big.bin", Route::File(big.clone())),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cap = 1 << 20;
    let opts = handover::artifacts::fetch::Options {
        max_bytes: cap,
        ..lib_options()
    };
    let started = std::time::Instant::now();
    let out = handover::artifacts::fetch::fetch_all(
        &[
            job("endless", server.url("/endless"), sha(b"five!")),
            job("big", server.url("/big.bin"), sha(&big)),
        ],
        &cache,
        &handover::artifacts::fetch::Options {
            max_bytes: 200_000,
            ..opts.clone()
        },
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    match &out[0] {
        handover::artifacts::fetch::Outcome::Failed(e) => {
            assert!(e.contains("larger than") && e.contains("cut off"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // An announced length over the cap is refused before a byte of the body is written.
    match &out[1] {
        handover::artifacts::fetch::Outcome::Failed(e) => {
            assert!(e.contains("announces 300000 bytes"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Nothing over the cap was kept, under a hash name or as a partial download.
    assert!(cached(&cache).is_empty());
    assert_eq!(std::fs::read_dir(cache.join("partial")).unwrap().count(), 0);
    // Under the cap, the same file is fetched.
    let out = handover::artifacts::fetch::fetch_all(
        &[job("big", server.url("/big.bin"), sha(&big))],
        &cache,
        &opts,
    );
    assert!(
        matches!(
            out[0],
            handover::artifacts::fetch::Outcome::Fetched { bytes: 300_000, .. }
        ),
        "{:?}",
        out[0]
    );
}

/// F11: a server sending one byte just before every read timeout never ended. Now a download has a
/// total deadline over all its attempts.
#[test]
fn f11_a_download_is_stopped_at_its_deadline() {
    let slow = body(16, 1_000);
    let server = Server::start(BTreeMap::from([("/slow", Route::Drip(slow.clone()))]));
    let dir = tempfile::tempdir().unwrap();
    let opts = handover::artifacts::fetch::Options {
        deadline: Duration::from_secs(2),
        retries: 3,
        ..lib_options()
    };
    let started = std::time::Instant::now();
    let out = handover::artifacts::fetch::fetch_all(
        &[job("slow", server.url("/slow"), sha(&slow))],
        &dir.path().join("cache"),
        &opts,
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "{took:?}");
    match &out[0] {
        handover::artifacts::fetch::Outcome::Failed(e) => {
            assert!(
                e.contains("not finished within 2 s") || e.contains("timed out"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }
}

/// F11: an https download followed a redirect to plain http. Now it is refused, and the http server is
/// never asked.
#[test]
fn f11_an_https_download_never_follows_a_redirect_to_http() {
    if !crate::support::have("openssl") {
        eprintln!("SKIPPED: openssl is not installed");
        return;
    }
    let data = body(17, 2_000);
    let plain = Server::start(BTreeMap::from([("/agent.bin", Route::File(data.clone()))]));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    self_signed_cert(d);
    // `s_server -HTTP` sends a file as the whole response: here, a redirect to the plain server.
    std::fs::create_dir_all(d.join("www")).unwrap();
    std::fs::write(
        d.join("www/go"),
        format!(
            "HTTP/1.0 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
            plain.url("/agent.bin")
        ),
    )
    .unwrap();
    let (_server, port) = s_server(d, "-HTTP");
    let site = site_with(
        d,
        &[("agent", format!("https://127.0.0.1:{port}/go"), sha(&data))],
    );
    let cache = d.join("cache");
    let mut h = Handover::new(&[
        "artifacts",
        "fetch",
        "--site",
        s(&site),
        "--cache",
        s(&cache),
        "--retries",
        "0",
    ]);
    for v in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "SSL_CERT_DIR",
    ] {
        h = h.env_remove(v);
    }
    let run = h.env("SSL_CERT_FILE", s(&d.join("cert.pem"))).run();
    run.expect_code(1);
    let out = run.stdout();
    let l = line(&out, "agent");
    assert!(l.contains("not https: refused"), "{}", run.stdout());
    assert!(plain.log().is_empty(), "{:?}", plain.log());
    assert!(cached(&cache).is_empty());
}

/// `key.pem` and `cert.pem` in `d`: a certificate for 127.0.0.1 that no trust store holds.
fn self_signed_cert(d: &std::path::Path) {
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// `openssl s_server MODE` (`-WWW` or `-HTTP`) serving `d/www` over TLS with [`self_signed_cert`]'s
/// certificate, on a free port, once it accepts connections.
fn s_server(d: &std::path::Path, mode: &str) -> (Killed, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Killed(
        std::process::Command::new("openssl")
            .args(["s_server", "-quiet", mode, "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-cert", "../cert.pem", "-key", "../key.pem"])
            .current_dir(d.join("www"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "s_server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}
