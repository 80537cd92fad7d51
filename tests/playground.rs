//! The playground example as a browser uses it: each test starts the server on a free port and
//! drives it over HTTP and Server-Sent Events (`playground_client`).

mod playground_client;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use playground_client::{Playground, assert_refused, run_bounded};
use serde_json::{Value, json};

/// The tutorial's settings, as the page sends them.
fn tutorial() -> Value {
    json!({
        "dataset": "moons", "samples": 200, "noise": 0.2, "seed": 0, "hidden": [3],
        "activation": "tanh", "learning_rate": 0.01, "l2": 0.01, "loss": "sum",
    })
}

/// `tutorial()` with one field changed.
fn tutorial_with(field: &str, value: Value) -> Value {
    let mut settings = tutorial();
    settings[field] = value;
    settings
}

/// A new run: its id, and its stream after the first frame.
fn open(playground: &Playground) -> (u64, playground_client::Events) {
    let mut events = playground.open_run();
    let hello = events.next_named("hello");
    assert_eq!(
        hello["settings"],
        tutorial(),
        "a run starts as the tutorial's"
    );
    let run = hello["run"].as_u64().expect("a run id");
    events.next_named("frame");
    (run, events)
}

#[test]
fn the_page_and_its_assets_are_served_and_nothing_else() {
    let playground = Playground::start(&[]);
    let (status, page) = playground.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("<canvas id=\"regions\""), "{page}");
    for asset in ["/app.js", "/style.css"] {
        assert!(page.contains(asset), "the page loads {asset}");
        let (status, body) = playground.get(asset);
        assert_eq!(status, 200, "{asset}");
        assert!(body.len() > 500, "{asset}: {body}");
        // Offline: nothing is fetched from anywhere else.
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{asset}"
        );
    }
    assert!(!page.contains("http://") && !page.contains("https://"));
    let (status, _) = playground.get("/?self-test");
    assert_eq!(status, 200, "a query string is the page's own business");
    for path in [
        "/Cargo.toml",
        "/../Cargo.toml",
        "/assets/app.js",
        "/%2e%2e/Cargo.toml",
        "/etc/passwd",
    ] {
        assert_eq!(playground.get(path).0, 404, "{path}");
    }
    assert_eq!(playground.request("POST", "/", b"").0, 405);
    assert_eq!(playground.request("DELETE", "/api/status", b"").0, 405);
}

#[test]
fn other_sites_cannot_drive_it() {
    let playground = Playground::start(&[]);
    let (run, mut events) = open(&playground);
    let port = playground.address.rsplit(':').next().unwrap().to_string();
    // A name pointed at 127.0.0.1 by another site (DNS rebinding) is not this server's.
    for host in [
        "evil.example",
        &format!("evil.example:{port}"),
        "127.0.0.1:1",
    ] {
        let (status, body) = playground.request_with("GET", "/", &[("Host", host)], b"");
        assert_eq!(status, 403, "Host: {host}: {body}");
    }
    let localhost = format!("localhost:{port}");
    assert_eq!(
        playground
            .request_with("GET", "/", &[("Host", &localhost)], b"")
            .0,
        200
    );
    // Bodies another site's page may send without asking first (text/plain) are refused.
    let path = format!("/api/runs/{run}/command");
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let headers = [("Content-Type", content_type)];
        let (status, body) =
            playground.request_with("POST", &path, &headers, br#"{"action":"play"}"#);
        assert_eq!(status, 415, "{content_type}: {body}");
    }
    let csv_as_text = [("Content-Type", "text/plain")];
    let (status, _) = playground.request_with(
        "POST",
        &format!("/api/runs/{run}/csv"),
        &csv_as_text,
        b"1,2,0\n",
    );
    assert_eq!(status, 415);
    let frame = events.next_named("frame");
    assert_eq!(
        (
            frame["playing"].as_bool(),
            frame["settings"]["dataset"].as_str()
        ),
        (Some(false), Some("moons"))
    );
}

#[test]
fn a_run_streams_frames_and_its_pass_count_advances() {
    let playground = Playground::start(&[]);
    let mut events = playground.open_run();
    let hello = events.next_named("hello");
    let run = hello["run"].as_u64().unwrap();
    let data = events.next_named("data");
    assert_eq!(data["labels"].as_array().unwrap().len(), 200);
    assert_eq!(data["points"].as_array().unwrap().len(), 400);
    assert_eq!(data["point_colours"].as_array().unwrap().len(), 2);
    let first = events.next_named("frame");
    assert_eq!(first["passes"], 0);
    assert_eq!(first["playing"], false);
    // The tutorial's small network gets the finest grid of decision regions: each cell's
    // logits as hundredths below its largest, 0 for the predicted class.
    assert_eq!(first["regions"]["side"], 96);
    assert_eq!(first["regions"]["classes"], 2);
    let scores = first["regions"]["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 96 * 96 * 2);
    for cell in scores.chunks(2) {
        let cell: Vec<i64> = cell.iter().map(|score| score.as_i64().unwrap()).collect();
        assert!(cell.contains(&0) && cell.iter().all(|score| (-500..=0).contains(score)));
    }

    assert_eq!(playground.command(run, &json!({"action": "step"})).0, 200);
    let stepped = events.frame_where(50, |frame| frame["passes"] == 1);
    assert_eq!(stepped["playing"], false);

    let started = Instant::now();
    assert_eq!(playground.command(run, &json!({"action": "play"})).0, 200);
    let early = events.frame_where(100, |frame| frame["passes"].as_u64() > Some(1));
    let later = events.frame_where(100, |frame| {
        frame["passes"].as_u64() > early["passes"].as_u64()
    });
    assert!(
        later["passes_per_second"].as_f64().unwrap() > 0.0,
        "{}",
        later["passes_per_second"]
    );
    // Frames come at a steady rate, not once per pass: about 20 a second.
    let frames_started = Instant::now();
    for _ in 0..10 {
        events.next_named("frame");
    }
    let ten_frames = frames_started.elapsed();
    assert!(
        ten_frames > Duration::from_millis(300) && ten_frames < Duration::from_secs(5),
        "10 frames took {ten_frames:?}"
    );
    assert_eq!(playground.command(run, &json!({"action": "pause"})).0, 200);
    let paused = events.frame_where(50, |frame| frame["playing"] == false);
    let (_, answer) = playground.command(run, &json!({"action": "reset"}));
    assert_eq!(answer["ok"], true);
    events.frame_where(50, |frame| frame["passes"] == 0);
    assert!(
        paused["passes"].as_u64().unwrap() > 1,
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_tutorial_run_prints_the_moons_examples_losses() {
    let playground = Playground::start(&[]);
    let (run, mut events) = open(&playground);
    playground.command(run, &json!({"action": "play"}));
    let frame = events.frame_where(2000, |frame| {
        frame["printed"].as_array().unwrap().len() >= 2
    });
    let printed: Vec<String> = frame["printed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            format!(
                "Loss after iteration {}: {:.6}",
                line[0],
                line[1].as_f64().unwrap()
            )
        })
        .collect();
    // `cargo run --release --example moons` prints these two lines, the tutorial's own.
    assert_eq!(printed[0], "Loss after iteration 0: 0.432387");
    assert_eq!(printed[1], "Loss after iteration 1000: 0.068947");
}

#[test]
fn every_data_set_and_network_trains() {
    let playground = Playground::start(&[]);
    let (run, mut events) = open(&playground);
    for dataset in ["moons", "circles", "xor", "spiral"] {
        for hidden in [json!([3]), json!([8, 4])] {
            for activation in ["tanh", "relu", "sigmoid"] {
                for loss in ["sum", "mean"] {
                    let mut settings = tutorial_with("dataset", json!(dataset));
                    settings["hidden"] = hidden.clone();
                    settings["activation"] = json!(activation);
                    settings["loss"] = json!(loss);
                    let apply = json!({"action": "apply", "settings": settings});
                    assert_eq!(playground.command(run, &apply).0, 200, "{settings}");
                    // New data and weights even where the settings did not need them.
                    assert_eq!(playground.command(run, &json!({"action": "reset"})).0, 200);
                    let data = events.next_named("data");
                    let classes: u64 = if dataset == "spiral" { 3 } else { 2 };
                    assert_eq!(data["classes"], classes, "{settings}");
                    assert_eq!(
                        data["region_colours"].as_array().unwrap().len() as u64,
                        classes
                    );
                    for _ in 0..3 {
                        assert_eq!(playground.command(run, &json!({"action": "step"})).0, 200);
                    }
                    let frame = events.frame_where(20, |frame| frame["passes"] == 3);
                    let loss_value = frame["loss"].as_f64().expect("a finite loss");
                    assert!(loss_value > 0.0, "{settings}: loss {loss_value}");
                    let accuracy = frame["accuracy"].as_f64().unwrap();
                    assert!((0.0..=1.0).contains(&accuracy), "{settings}: {accuracy}");
                    let regions = &frame["regions"];
                    assert_eq!(regions["classes"], classes, "{settings}");
                    let side = regions["side"].as_u64().unwrap();
                    let scores = regions["scores"].as_array().unwrap();
                    assert_eq!(scores.len() as u64, side * side * classes, "{settings}");
                }
            }
        }
    }
    // The widest network (2-100-100-3) gets a coarser grid of regions, within the frame's budget.
    let mut widest = tutorial_with("hidden", json!([100, 100]));
    widest["dataset"] = json!("spiral");
    playground.command(run, &json!({"action": "apply", "settings": widest}));
    let frame = events.frame_where(20, |frame| frame["settings"]["hidden"] == json!([100, 100]));
    assert_eq!(frame["regions"]["side"], 43);
}

#[test]
fn bad_values_are_refused_with_a_message_and_change_nothing() {
    let playground = Playground::start(&[]);
    let (run, mut events) = open(&playground);
    let apply = |settings: Value| json!({"action": "apply", "settings": settings});
    let cases = [
        (
            apply(tutorial_with("learning_rate", json!(-1))),
            "learning rate: -1 is not above 0",
        ),
        (
            apply(tutorial_with("learning_rate", json!(0))),
            "learning rate: 0 is not above 0",
        ),
        (
            apply(tutorial_with("learning_rate", json!(1e9))),
            "learning rate",
        ),
        (
            // Short, in the form typed: never 301 digits.
            apply(tutorial_with("learning_rate", json!(1e300))),
            "learning rate: 1.0000e300 is not above 0 and at most ",
        ),
        (
            apply(tutorial_with("learning_rate", json!("fast"))),
            "bad command",
        ),
        (apply(tutorial_with("l2", json!(-0.5))), "L2 strength: -0.5"),
        (
            apply(tutorial_with("noise", json!(6))),
            "noise: 6 is not from 0 to 5",
        ),
        (
            apply(tutorial_with("samples", json!(1))),
            "points: 1 is not from 2 to 2000",
        ),
        (
            apply(tutorial_with("samples", json!(10_000_000_000u64))),
            "points",
        ),
        (apply(tutorial_with("samples", json!(-3))), "bad command"),
        (
            apply(tutorial_with("seed", json!(4294967296u64))),
            "bad command",
        ),
        (
            apply(tutorial_with("hidden", json!([0]))),
            "hidden units: 0 is not from 1 to 100",
        ),
        (
            apply(tutorial_with("hidden", json!([101]))),
            "hidden units: 101",
        ),
        (
            apply(tutorial_with("hidden", json!([]))),
            "hidden layers: 0 layers",
        ),
        (
            apply(tutorial_with("hidden", json!([3, 3, 3]))),
            "hidden layers: 3 layers",
        ),
        (
            apply(tutorial_with("activation", json!("softmax"))),
            "unknown variant `softmax`",
        ),
        (
            apply(tutorial_with("dataset", json!("mnist"))),
            "unknown variant `mnist`",
        ),
        (
            apply(tutorial_with("dataset", json!("csv"))),
            "upload a CSV file",
        ),
        (
            apply(tutorial_with("loss", json!("median"))),
            "unknown variant `median`",
        ),
        (apply(json!({"samples": 200})), "bad command"),
        (json!({"action": "explode"}), "unknown variant `explode`"),
        (json!({"settings": tutorial()}), "missing field `action`"),
    ];
    for (command, message) in cases {
        let (status, answer) = playground.command(run, &command);
        assert_eq!(status, 400, "{command}: {answer}");
        let error = answer["error"].as_str().expect("an error message");
        assert!(
            error.contains(message),
            "{command}: {error:?} should say {message:?}"
        );
    }
    // Bodies no JSON value makes: not JSON at all, and a number beyond f64 (no NaN or ∞ passes).
    let infinite = apply(tutorial()).to_string().replace("0.01,", "1e999,");
    assert!(infinite.contains("1e999"), "{infinite}");
    for body in ["{not json", infinite.as_str()] {
        let path = format!("/api/runs/{run}/command");
        let (status, answer) = playground.request("POST", &path, body.as_bytes());
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.contains("bad command"), "{body}: {answer}");
    }
    let extra = tutorial_with("momentum", json!(0.9));
    let (status, answer) = playground.command(run, &apply(extra));
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `momentum`"),
        "{answer}"
    );
    let (status, _) = playground.command(999_999, &json!({"action": "play"}));
    assert_eq!(status, 404);

    // Nothing changed: the run is the tutorial's, at pass 0, paused.
    playground.command(run, &json!({"action": "tape"}));
    let frame = events.next_named("frame");
    assert_eq!(frame["settings"], tutorial());
    assert_eq!(
        (frame["passes"].as_u64(), frame["playing"].as_bool()),
        (Some(0), Some(false))
    );

    // A good value does change it, without a restart: the learning rate applies in flight.
    playground.command(run, &json!({"action": "step"}));
    let good = tutorial_with("learning_rate", json!(0.02));
    assert_eq!(playground.command(run, &apply(good.clone())).0, 200);
    let frame = events.frame_where(50, |frame| frame["settings"] == good);
    assert_eq!(frame["passes"], 1);
}

#[test]
fn a_csv_upload_with_a_bad_row_is_refused_naming_its_line() {
    let playground = Playground::start(&[]);
    let (run, mut events) = open(&playground);
    let path = format!("/api/runs/{run}/csv");
    let upload =
        |body: &[u8]| playground.request_with("POST", &path, &[("Content-Type", "text/csv")], body);
    let cases: [(&[u8], &str); 5] = [
        (
            b"x1,x2,label\n0.5,1.0,0\n0.2,oops,1\n",
            "line 3, column 2: 'oops' is not a number",
        ),
        (
            b"0.5,1.0,0\n0.2,0.1\n",
            "line 2, column 3: expected 3 fields",
        ),
        (
            b"0.5,1.0,0\n0.2,0.1,11\n",
            "class 11 is beyond the 11 classes",
        ),
        (b"0.5,1e9,0\n", "coordinate 1e9 is beyond"),
        (b"x1,x2,label\n", "no data rows"),
    ];
    for (body, message) in cases {
        let (status, answer) = upload(body);
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains(message), "{answer} should say {message:?}");
    }
    // Refused from its declared length, before it is read.
    let too_large = vec![b' '; (1 << 20) + 1];
    let (status, answer) = upload(&too_large);
    assert_eq!(status, 413);
    assert!(answer.contains("more than the 1048576"), "{answer}");
    let frame = events.next_named("frame");
    assert_eq!(
        frame["settings"]["dataset"], "moons",
        "a refused file changes nothing"
    );

    let (status, answer) = upload(b"x1,x2,label\n0.5,1.0,0\n-0.5,0.2,1\n0.0,-1.0,2\n");
    assert_eq!(status, 200, "{answer}");
    let data = events.next_named("data");
    assert_eq!(data["labels"], json!([0, 1, 2]));
    assert_eq!(data["classes"], 3);
    let frame = events.next_named("frame");
    assert_eq!(frame["settings"]["dataset"], "csv");
}

#[test]
fn a_diverging_run_stops_with_a_message() {
    let playground = Playground::start(&[]);
    let (run, mut events) = open(&playground);
    let fast = json!({"action": "apply", "settings": tutorial_with("learning_rate", json!(1000))});
    assert_eq!(playground.command(run, &fast).0, 200);
    assert_eq!(playground.command(run, &json!({"action": "play"})).0, 200);
    let frame = events.frame_where(400, |frame| !frame["diverged"].is_null());
    let message = frame["diverged"].as_str().unwrap();
    assert!(
        message.contains("learning rate 1000 is too large"),
        "{message}"
    );
    assert_eq!(frame["playing"], false);
    let (status, answer) = playground.command(run, &json!({"action": "play"}));
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("Reset the run"),
        "{answer}"
    );
    // The server goes on, and a reset starts the run again.
    assert_eq!(playground.live_runs(), 1);
    assert_eq!(playground.command(run, &json!({"action": "reset"})).0, 200);
    let frame = events.frame_where(50, |frame| frame["diverged"].is_null());
    assert_eq!(frame["passes"], 0);
}

#[test]
fn a_closed_connection_ends_its_run_and_a_full_server_says_so() {
    let playground = Playground::start(&["--max-runs", "2"]);
    let (_, first) = open(&playground);
    let (second_run, _second) = open(&playground);
    assert_eq!(
        playground.command(second_run, &json!({"action": "play"})).0,
        200
    );
    let mut third = playground.open_run();
    let full = third.next_named("full");
    assert!(
        full["message"].as_str().unwrap().contains("at most 2 runs"),
        "{full}"
    );
    assert_eq!(playground.live_runs(), 2);

    drop(first); // the tab closes
    let deadline = Instant::now() + Duration::from_secs(10);
    while playground.live_runs() != 1 {
        assert!(
            Instant::now() < deadline,
            "the closed tab's run still counts"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, _fourth) = open(&playground); // its place is free again
    assert_eq!(playground.live_runs(), 2);
}

#[test]
fn sharpness_tape_and_hand_gradients_on_request() {
    let playground = Playground::start(&[]);
    let (run, mut events) = open(&playground);
    assert_eq!(
        playground
            .command(run, &json!({"action": "sharpness", "on": true}))
            .0,
        200
    );
    let frame = events.frame_where(50, |frame| frame["sharpness"]["curve"][0].is_array());
    assert_eq!(frame["sharpness"]["edge"], 200.0);
    let top = frame["sharpness"]["curve"][0][1].as_f64().unwrap();
    assert!(top > 0.0 && top.is_finite(), "{top}");

    assert_eq!(playground.command(run, &json!({"action": "tape"})).0, 200);
    let tape = events.next_named("tape")["text"]
        .as_str()
        .unwrap()
        .to_string();
    for expected in [
        "variable W1",
        "constant",
        "matmul(",
        "tanh(",
        "cross_entropy",
        "examples/playground/model.rs:",
        "|grad| ",
    ] {
        assert!(
            tape.contains(expected),
            "no {expected:?} in the tape:\n{tape}"
        );
    }

    assert_eq!(
        playground.command(run, &json!({"action": "gradients"})).0,
        200
    );
    let gradients = events.next_named("gradients");
    assert_eq!(gradients["agree"], true, "{}", gradients["text"]);
    assert!(
        gradients["text"]
            .as_str()
            .unwrap()
            .contains("max |autodiff - hand|")
    );

    let relu = json!({"action": "apply", "settings": tutorial_with("activation", json!("relu"))});
    assert_eq!(playground.command(run, &relu).0, 200);
    let (status, answer) = playground.command(run, &json!({"action": "gradients"}));
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("one hidden layer and tanh"),
        "{answer}"
    );
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    let cases = [
        (vec!["--port", "99999"], "--port"),
        (vec!["--max-runs", "0"], "--max-runs"),
        (
            vec!["--max-runs", "65"],
            "65 is more than the 64 runs at once",
        ),
        (vec!["--host", "localhost.example"], "--host"),
        (vec!["--frobnicate"], "--frobnicate"),
        (
            vec!["--self-test-report", "/nonexistent-folder/report.json"],
            "--self-test-report /nonexistent-folder/report.json: not a file",
        ),
        (
            vec!["--self-test-report", "/"],
            "not a file in an existing folder",
        ),
    ];
    for (args, message) in cases {
        let output = run_bounded("playground", &args, 20);
        assert_refused(&output, &format!("{args:?}"), message);
    }
    // A port already taken: the same one line, naming the address.
    let playground = Playground::start(&[]);
    let port = playground.address.rsplit(':').next().unwrap();
    let output = run_bounded("playground", &["--port", port], 20);
    assert_refused(&output, "a taken port", "cannot listen on 127.0.0.1:");
}

// ---- a server that holds up: issue 22's reproducers, loopback only, every loop bounded ------

/// Sends `head` (and nothing more) on a new connection and reads the answer's status within
/// `seconds`; `None` if no status came.
fn status_of_raw(playground: &Playground, head: &str, seconds: u64) -> Option<u16> {
    let mut stream = playground.connect();
    stream
        .set_read_timeout(Some(Duration::from_secs(seconds)))
        .unwrap();
    stream.write_all(head.as_bytes()).ok()?;
    let mut answer = Vec::new();
    let _ = stream.take(64 << 10).read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split(' ').nth(1)?.parse().ok()
}

/// Polls `done` every `pause` until it holds; fails saying `what` after `limit` or 1000 tries.
#[track_caller]
fn wait_until(what: &str, limit: Duration, pause: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    for _ in 0..1000 {
        if done() {
            return;
        }
        assert!(Instant::now() < deadline, "{what} after {limit:?}");
        std::thread::sleep(pause);
    }
    panic!("{what} after 1000 tries");
}

/// `GET /api/status`'s status code on a new connection, or `None` if it took over `limit`;
/// the time it took.
fn status_within(playground: &Playground, limit: Duration) -> (Option<u16>, Duration) {
    let head = format!(
        "GET /api/status HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        playground.address
    );
    let started = Instant::now();
    let status = status_of_raw(playground, &head, limit.as_secs().max(1));
    let took = started.elapsed();
    (status.filter(|_| took <= limit), took)
}

#[test]
fn a_declared_length_of_ten_terabytes_is_refused_unread() {
    let mut playground = Playground::start(&[]);
    let (run, _events) = open(&playground);
    let address = playground.address.clone();
    let huge = "Content-Length: 10000000000000\r\n";
    let cases = [
        // tiny_http read the declared length into one buffer when it dropped this request.
        (
            format!("GET / HTTP/1.1\r\nHost: evil.example\r\n{huge}\r\n"),
            403,
        ),
        (
            format!("GET / HTTP/1.1\r\nHost: {address}\r\n{huge}\r\n"),
            413,
        ),
        (
            format!(
                "POST /api/runs/{run}/command HTTP/1.1\r\nHost: {address}\r\n\
                 Content-Type: application/json\r\n{huge}\r\n"
            ),
            413,
        ),
        (
            format!(
                "POST /api/runs/{run}/csv HTTP/1.1\r\nHost: {address}\r\nContent-Type: text/csv\r\n\
                 Content-Length: 5000000000\r\n\r\n"
            ),
            413,
        ),
    ];
    for (head, expected) in cases {
        assert_eq!(
            status_of_raw(&playground, &head, 10),
            Some(expected),
            "{head}"
        );
        assert!(playground.alive(), "the server died after {head:?}");
        playground.live_runs(); // answered, 200
    }
}

#[test]
fn heads_over_their_caps_are_refused() {
    let playground = Playground::start(&[]);
    let host = format!("Host: {}\r\n", playground.address);
    let long_path = format!("GET /{} HTTP/1.1\r\n{host}\r\n", "a".repeat(9 << 10));
    let many = format!("GET / HTTP/1.1\r\n{host}{}\r\n", "X-A: 1\r\n".repeat(100));
    let large = format!(
        "GET / HTTP/1.1\r\n{host}{}\r\n",
        format!("X-Big: {}\r\n", "b".repeat(7 << 10)).repeat(5)
    );
    let chunked = format!(
        "POST /api/self-test HTTP/1.1\r\n{host}Content-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n"
    );
    let get_with_body = format!("GET / HTTP/1.1\r\n{host}Content-Length: 5\r\n\r\nhello");
    let cases = [
        (long_path, 414),
        (many, 431),
        (large, 431),
        (chunked, 411),
        (get_with_body, 413),
        (format!("GET / HTTP/2.0\r\n{host}\r\n"), 505),
        (format!("GET / HTTP/1.0\r\n{host}\r\n"), 200),
    ];
    for (head, expected) in cases {
        let shown = &head[..head.len().min(80)];
        assert_eq!(
            status_of_raw(&playground, &head, 10),
            Some(expected),
            "{shown}"
        );
    }
}

#[test]
fn connections_past_the_cap_are_told_to_wait_and_the_server_recovers() {
    let playground = Playground::start(&[]);
    // The server's MAX_CONNECTIONS (128), silent: each waits for its request's head.
    let held: Vec<TcpStream> = (0..128).map(|_| playground.connect()).collect();
    let (status, took) = status_within(&playground, Duration::from_secs(5));
    assert_eq!(status, Some(503), "past the cap, after {took:?}");
    drop(held);
    let answered = || status_within(&playground, Duration::from_secs(5)).0 == Some(200);
    let (limit, pause) = (Duration::from_secs(10), Duration::from_millis(50));
    wait_until(
        "no answer after the connections closed",
        limit,
        pause,
        answered,
    );
}

#[test]
fn an_endless_header_line_is_cut_off_and_memory_stays_bounded() {
    let mut playground = Playground::start(&[]);
    let before = playground.proc_status("VmRSS");
    let mut stream = playground.connect();
    let head = format!("GET / HTTP/1.1\r\nHost: {}\r\nX-Long: ", playground.address);
    stream.write_all(head.as_bytes()).unwrap();
    // 64 MiB of one header line in 1 MiB writes, until the server stops taking it.
    let chunk = vec![b'a'; 1 << 20];
    let started = Instant::now();
    let mut sent = 0;
    for _ in 0..64 {
        if stream.write_all(&chunk).is_err() || started.elapsed() > Duration::from_secs(20) {
            break;
        }
        sent += chunk.len();
    }
    let mut answer = Vec::new();
    let _ = stream.take(4096).read_to_end(&mut answer);
    assert!(
        playground.alive(),
        "the server died after {sent} bytes of a header"
    );
    assert_eq!(playground.live_runs(), 0, "still answering");
    if let (Some(before), Some(after)) = (before, playground.proc_status("VmRSS")) {
        assert!(
            after < before + (16 << 10),
            "{sent} bytes of one header line took the server from {before} kB to {after} kB"
        );
    }
}

#[test]
fn four_stalled_uploads_hold_up_no_one() {
    let playground = Playground::start(&[]);
    let (run, mut events) = open(&playground);
    // Four bodies that say 60000 bytes and bring 6: each holds its connection, no more.
    let stalled: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut stream = playground.connect();
            let head = format!(
                "POST /api/runs/{run}/command HTTP/1.1\r\nHost: {}\r\n\
                 Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{{\"act",
                playground.address
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream
        })
        .collect();
    let (status, took) = status_within(&playground, Duration::from_secs(2));
    assert_eq!(status, Some(200), "the status took {took:?}");
    assert_eq!(playground.command(run, &json!({"action": "step"})).0, 200);
    events.frame_where(50, |frame| frame["passes"] == 1);
    drop(stalled);
}

#[test]
fn a_client_that_never_reads_its_stream_loses_its_run_within_the_silence_timeout() {
    let playground = Playground::start(&["--max-runs", "2"]);
    // A tab that reads (and says it is alive, as the page does) beside one that never reads.
    let (run, mut events) = open(&playground);
    let mut silent = playground.connect();
    let head = format!(
        "GET /api/events HTTP/1.1\r\nHost: {}\r\n\r\n",
        playground.address
    );
    silent.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let (limit, pause) = (Duration::from_secs(10), Duration::from_millis(20));
    wait_until("the silent client got no run", limit, pause, || {
        playground.live_runs() == 2
    });
    // The server's stated time, SILENCE_TIMEOUT (5 s) and a paused run's beat (0.5 s), with
    // this machine's load on top; the reading tab's frames are read meanwhile.
    for _ in 0..1000 {
        if playground.live_runs() == 1 {
            break;
        }
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(15),
            "the silent client's run still counts after {waited:?}"
        );
        events.next_named("frame");
    }
    assert_eq!(playground.live_runs(), 1, "after 1000 frames");
    // The tab that reads keeps its run past the silence timeout, and a new tab gets the place.
    assert_eq!(playground.command(run, &json!({"action": "step"})).0, 200);
    events.frame_where(50, |frame| frame["passes"] == 1);
    let (_, _new_tab) = open(&playground);
    drop(silent);
}

#[test]
fn sharpness_on_the_largest_network_blocks_no_one() {
    let playground = Playground::start(&[]);
    let (run, mut events) = open(&playground);
    let mut largest = tutorial_with("dataset", json!("xor"));
    largest["samples"] = json!(2000);
    largest["hidden"] = json!([100, 100]);
    let apply = json!({"action": "apply", "settings": largest});
    assert_eq!(playground.command(run, &apply).0, 200);
    for command in [
        json!({"action": "sharpness", "on": true}),
        json!({"action": "play"}),
    ] {
        assert_eq!(playground.command(run, &command).0, 200, "{command}");
    }
    // Frames keep coming while the measurement spans them, and say how far it has got.
    let measuring = events.frame_where(200, |frame| !frame["sharpness"]["measuring"].is_null());
    assert!(measuring["sharpness"]["measuring"]["products"].as_u64() >= Some(1));
    // Four commands for the busy run at once, while another client asks for the status.
    let commands: Vec<_> = (0..4)
        .map(|_| {
            let address = playground.address.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let status = playground_client::post_json(&address, run, r#"{"action":"step"}"#);
                (status, started.elapsed())
            })
        })
        .collect();
    let (status, took) = status_within(&playground, Duration::from_secs(1));
    assert_eq!(status, Some(200), "another client's status took {took:?}");
    for command in commands {
        let (status, took) = command.join().unwrap();
        // Taken within the run's second, or refused as busy: never answered later.
        assert!(matches!(status, Some(200 | 503)), "{status:?}");
        assert!(took < Duration::from_secs(3), "a command took {took:?}");
    }
    let frame = events.frame_where(100, |frame| frame["passes"].as_u64() >= Some(1));
    assert_eq!(frame["settings"]["hidden"], json!([100, 100]));
}

/// The lines the server prints within a second or two of `playground`'s last answer.
fn printed_lines(playground: &Playground) -> Vec<String> {
    std::iter::from_fn(|| playground.next_line(Duration::from_secs(2)))
        .take(100)
        .collect()
}

#[test]
fn a_self_test_report_never_reaches_the_terminal() {
    let escapes = "\u{1b}[2J\u{1b}[31mred\u{7}\u{9b}31m";
    let hostile = json!({ "errors": [escapes], "passes": 3 }).to_string();
    let post = |playground: &Playground, content_type: &str, body: &[u8]| {
        let headers = [("Content-Type", content_type)];
        playground
            .request_with("POST", "/api/self-test", &headers, body)
            .0
    };
    let playground = Playground::start(&[]);
    // What a page elsewhere can send without asking first, and what is not JSON.
    assert_eq!(post(&playground, "text/plain", escapes.as_bytes()), 415);
    assert_eq!(
        post(&playground, "application/json", escapes.as_bytes()),
        400
    );
    let too_large = vec![b' '; (64 << 10) + 1];
    assert_eq!(post(&playground, "application/json", &too_large), 413);
    assert_eq!(
        post(&playground, "application/json", hostile.as_bytes()),
        200
    );
    let printed = printed_lines(&playground);
    for line in &printed {
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(
            !line.contains("red"),
            "the report's text on stdout: {line:?}"
        );
    }
    let expected = format!("self-test report: {} bytes, not kept", hostile.len());
    assert!(
        printed.iter().any(|line| line.starts_with(&expected)),
        "{printed:?}"
    );

    // With --self-test-report, the report is kept whole in the file, every control escaped.
    let report_file =
        std::env::temp_dir().join(format!("tapegrad-self-test-{}.json", std::process::id()));
    let playground = Playground::start(&["--self-test-report", report_file.to_str().unwrap()]);
    assert_eq!(
        post(&playground, "application/json", hostile.as_bytes()),
        200
    );
    let expected = format!(
        "self-test report: {} bytes, written to {}",
        hostile.len(),
        report_file.display()
    );
    let printed = printed_lines(&playground);
    assert_eq!(printed.last(), Some(&expected), "{printed:?}");
    let kept = std::fs::read_to_string(&report_file).unwrap();
    let _ = std::fs::remove_file(&report_file);
    assert!(!kept.chars().any(char::is_control), "{kept:?}");
    let kept: Value = serde_json::from_str(&kept).unwrap();
    assert_eq!(
        kept["errors"][0], escapes,
        "the report itself is kept whole"
    );
}

/// A few seconds of three tabs playing, stepping, resetting and changing settings, while a
/// fourth client misbehaves every way above; then the server's threads and memory are back.
#[test]
fn a_soak_of_mixed_clients_leaves_threads_and_memory_where_they_were() {
    let playground = Playground::start(&["--max-runs", "8"]);
    {
        let (run, mut events) = open(&playground);
        playground.command(run, &json!({"action": "play"}));
        events.frame_where(20, |frame| frame["passes"].as_u64() > Some(0));
    }
    let (limit, pause) = (Duration::from_secs(15), Duration::from_millis(50));
    wait_until("the warm-up run still counts", limit, pause, || {
        playground.live_runs() == 0
    });
    let threads_before = playground.proc_status("Threads");
    let memory_before = playground.proc_status("VmRSS");

    let soak = Duration::from_secs(3);
    let held = std::thread::scope(|scope| {
        for tab in 0..3 {
            let playground = &playground;
            scope.spawn(move || {
                let (run, mut events) = open(playground);
                let actions = ["play", "step", "pause", "reset", "step", "tape"];
                let started = Instant::now();
                for round in 0..1000 {
                    if started.elapsed() > soak {
                        break;
                    }
                    let action = actions[(round + tab) % actions.len()];
                    let (status, answer) = playground.command(run, &json!({ "action": action }));
                    assert_eq!(status, 200, "{action}: {answer}");
                    if round % 4 == 3 {
                        let spiral = tutorial_with("dataset", json!("spiral"));
                        let settings = if round % 8 == 3 { spiral } else { tutorial() };
                        let apply = json!({"action": "apply", "settings": settings});
                        assert_eq!(playground.command(run, &apply).0, 200);
                    }
                    events.next_named("frame");
                }
            });
        }
        let playground = &playground;
        let misbehaving = scope.spawn(move || {
            let address = &playground.address;
            let mut held = Vec::new();
            let started = Instant::now();
            // Opened early, so that the server's own timeouts, not the soak, decide its length.
            for round in 0..15 {
                let mut stream = playground.connect();
                let head = match round % 3 {
                    0 => format!(
                        "POST /api/runs/1/command HTTP/1.1\r\nHost: {address}\r\n\
                         Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{{"
                    ),
                    1 => format!("GET /api/events HTTP/1.1\r\nHost: {address}\r\n\r\n"),
                    _ => format!("GET / HTTP/1.1\r\nHost: {address}\r\nX-Slow: aaaa"),
                };
                let _ = stream.write_all(head.as_bytes());
                held.push(stream);
                std::thread::sleep(Duration::from_millis(30));
            }
            // Held, not closed, to the end: the server must let go of them by itself.
            std::thread::sleep(soak.saturating_sub(started.elapsed()));
            held
        });
        misbehaving.join().unwrap()
    });

    // Every stalled request (5 s) and silent stream (5 s, plus a write's 5 s at most) is let
    // go by the server, though the misbehaving client's connections are still open.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut settled = false;
    for _ in 0..300 {
        // Threads first: the status request below has a thread of its own for a moment.
        let threads = playground.proc_status("Threads");
        settled = playground.live_runs() == 0 && threads <= threads_before;
        if settled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} runs and {threads:?} threads left, {threads_before:?} before",
            playground.live_runs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(settled, "not settled after 300 tries");
    if let (Some(before), Some(after)) = (memory_before, playground.proc_status("VmRSS")) {
        assert!(
            after < before + (64 << 10),
            "the server grew from {before} kB to {after} kB"
        );
    }
    drop(held);
}
